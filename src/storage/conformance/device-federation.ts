/**
 * DeviceFederationStore conformance (migration 0016): outbound m.device_list_update sequences, the remote
 * device-list cache with its prev_id rule, and once-only m.direct_to_device delivery, on every backend.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { DeviceListUpdate, Storage } from "../ports.js";

const NOW = 1_700_000_000_000;
const LOCAL = "@alice:zion.test" as UserId;
const REMOTE = "@bob:remote.test" as UserId;
const ORIGIN = "remote.test" as ServerName;

const keysOf = (device: string) => ({ user_id: REMOTE, device_id: device, algorithms: ["m.olm.v1.curve25519-aes-sha2"], keys: { [`ed25519:${device}`]: `pub-${device}` }, signatures: {} });
const update = (over: Partial<DeviceListUpdate>): DeviceListUpdate => ({
  userId: REMOTE, deviceId: "R1", displayName: null, keys: null, deleted: false, streamId: 1, prevIds: [], ...over,
});

export function deviceFederationConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("DeviceFederationStore", () => {
    it("hands out consecutive outbound stream ids per user, each with the id before it, also to concurrent callers", async () => {
      await withStorage(async (s) => {
        const f = s.deviceFederation;
        assert.equal(await f.outboundStreamId(LOCAL), 0);
        assert.deepEqual(await f.nextOutboundStreamIds(LOCAL, 1), { prev: 0, ids: [1] });
        assert.deepEqual(await f.nextOutboundStreamIds(LOCAL, 3), { prev: 1, ids: [2, 3, 4] });
        assert.deepEqual(await f.nextOutboundStreamIds("@carol:zion.test" as UserId, 1), { prev: 0, ids: [1] }, "each user has its own sequence");
        const concurrent = await Promise.all(Array.from({ length: 10 }, () => f.nextOutboundStreamIds(LOCAL, 2)));
        const all = concurrent.flatMap((c) => c.ids).sort((a, b) => a - b);
        assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => 5 + i), "no id handed out twice");
        for (const c of concurrent) assert.equal(c.prev, c.ids[0]! - 1);
        assert.equal(await f.outboundStreamId(LOCAL), 24);
      });
    });

    it("an update for an untracked user only records a device-list change", async () => {
      await withStorage(async (s) => {
        const before = await s.e2ee.maxDeviceListPosition();
        const r = await s.deviceFederation.applyDeviceListUpdate(update({ keys: keysOf("R1") }), NOW);
        assert.equal(r.outcome, "untracked");
        assert.equal("position" in r ? r.position : -1, before + 1);
        assert.equal((await s.deviceFederation.getRemoteDeviceLists([REMOTE])).size, 0);
        assert.deepEqual((await s.e2ee.deviceListChangesSince(before, before + 1)).map((c) => c.userId), [REMOTE]);
      });
    });

    it("a resync replaces the list; updates whose prev_ids are known apply, old ones are ignored, a gap marks the list stale until the next resync", async () => {
      await withStorage(async (s) => {
        const f = s.deviceFederation;
        await f.replaceRemoteDeviceList({ userId: REMOTE, streamId: 5, devices: [{ deviceId: "R1", displayName: "phone", keys: keysOf("R1") }, { deviceId: "R2", displayName: null, keys: null }], masterKey: { usage: ["master"] }, selfSigningKey: null }, NOW);
        let list = (await f.getRemoteDeviceLists([REMOTE])).get(REMOTE)!;
        assert.equal(list.streamId, 5);
        assert.equal(list.stale, false);
        assert.deepEqual(list.devices.map((d) => d.deviceId), ["R1", "R2"]);
        assert.deepEqual(list.devices[0], { deviceId: "R1", displayName: "phone", keys: keysOf("R1") });
        assert.deepEqual(list.masterKey, { usage: ["master"] });

        assert.equal((await f.applyDeviceListUpdate(update({ deviceId: "R3", keys: keysOf("R3"), displayName: "tablet", streamId: 6, prevIds: [5] }), NOW + 1)).outcome, "applied");
        assert.equal((await f.applyDeviceListUpdate(update({ deviceId: "R2", deleted: true, streamId: 7, prevIds: [6] }), NOW + 2)).outcome, "applied");
        assert.equal((await f.applyDeviceListUpdate(update({ deviceId: "R9", streamId: 6, prevIds: [5] }), NOW + 3)).outcome, "old", "a stream id already applied");
        list = (await f.getRemoteDeviceLists([REMOTE])).get(REMOTE)!;
        assert.deepEqual(list.devices.map((d) => d.deviceId), ["R1", "R3"]);
        assert.equal(list.streamId, 7);
        assert.equal(list.updatedTs, NOW + 2);

        const gap = await f.applyDeviceListUpdate(update({ deviceId: "R4", streamId: 10, prevIds: [9] }), NOW + 4);
        assert.equal(gap.outcome, "gap");
        list = (await f.getRemoteDeviceLists([REMOTE])).get(REMOTE)!;
        assert.equal(list.stale, true);
        assert.equal(list.streamId, 7, "a gap does not move the list forward");
        assert.deepEqual(list.devices.map((d) => d.deviceId), ["R1", "R3"], "the update after the gap is not applied");
        assert.equal((await f.applyDeviceListUpdate(update({ deviceId: "R5", streamId: 11, prevIds: [10] }), NOW + 5)).outcome, "gap", "still behind the missed update");

        await f.replaceRemoteDeviceList({ userId: REMOTE, streamId: 11, devices: [{ deviceId: "R1", displayName: null, keys: keysOf("R1") }], masterKey: null, selfSigningKey: null }, NOW + 6);
        list = (await f.getRemoteDeviceLists([REMOTE])).get(REMOTE)!;
        assert.equal(list.stale, false);
        assert.deepEqual(list.devices.map((d) => d.deviceId), ["R1"]);
        assert.equal(list.masterKey, null);
        assert.equal((await f.applyDeviceListUpdate(update({ deviceId: "R6", streamId: 12, prevIds: [11] }), NOW + 7)).outcome, "applied");
      });
    });

    it("a signing-key update replaces the cached keys and records a change; forgetting drops the list", async () => {
      await withStorage(async (s) => {
        const f = s.deviceFederation;
        await f.replaceRemoteDeviceList({ userId: REMOTE, streamId: 1, devices: [], masterKey: { m: 1 }, selfSigningKey: { s: 1 } }, NOW);
        const before = await s.e2ee.maxDeviceListPosition();
        assert.equal(await f.applySigningKeyUpdate(REMOTE, { master: { m: 2 } }, NOW), before + 1);
        const list = (await f.getRemoteDeviceLists([REMOTE])).get(REMOTE)!;
        assert.deepEqual([list.masterKey, list.selfSigningKey], [{ m: 2 }, { s: 1 }]);
        assert.equal(await f.forgetRemoteDeviceList(REMOTE), true);
        assert.equal(await f.forgetRemoteDeviceList(REMOTE), false);
        assert.equal((await f.getRemoteDeviceLists([REMOTE])).size, 0);
      });
    });

    it("delivers an m.direct_to_device message id once per origin into the local inboxes, * meaning every device", async () => {
      await withStorage(async (s) => {
        await s.users.createUser({ userId: LOCAL, passwordHash: null, createdTs: NOW });
        for (const d of ["D1", "D2"]) await s.users.createLogin({ userId: LOCAL, deviceId: d, accessToken: `t-${d}`, nowTs: NOW });
        const message = { type: "m.room_key", sender: REMOTE, content: { k: 1 } };
        const msgs = [{ userId: LOCAL, deviceId: "*", message }];
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "m1", msgs, NOW, 0), true);
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "m1", msgs, NOW, 0), false, "the same message id again");
        assert.equal(await s.deviceFederation.receiveToDevice("other.test" as ServerName, "m1", [{ userId: LOCAL, deviceId: "D1", message }], NOW, 0), true, "ids are per origin");
        assert.deepEqual((await s.toDevice.inbox(LOCAL, "D1", 0, 10)).messages, [message, message]);
        assert.deepEqual((await s.toDevice.inbox(LOCAL, "D2", 0, 10)).messages, [message]);
      });
    });

    it("forgets message ids received before forgetBeforeTs, of every origin, and only those", async () => {
      await withStorage(async (s) => {
        await s.users.createUser({ userId: LOCAL, passwordHash: null, createdTs: NOW });
        await s.users.createLogin({ userId: LOCAL, deviceId: "D1", accessToken: "t-D1", nowTs: NOW });
        const message = { type: "m.room_key", sender: REMOTE, content: { k: 1 } };
        const msgs = [{ userId: LOCAL, deviceId: "D1", message }];
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "old", msgs, NOW, 0), true);
        assert.equal(await s.deviceFederation.receiveToDevice("other.test" as ServerName, "old", msgs, NOW, 0), true);
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "newer", msgs, NOW + 10, 0), true);
        // A later EDU forgets what came before NOW + 5: both origins' "old", not "newer".
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "latest", msgs, NOW + 20, NOW + 5), true);
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "newer", msgs, NOW + 21, NOW + 5), false, "kept: still a repeat");
        assert.equal(await s.deviceFederation.receiveToDevice(ORIGIN, "old", msgs, NOW + 22, NOW + 5), true, "forgotten: delivered again");
        assert.equal(await s.deviceFederation.receiveToDevice("other.test" as ServerName, "old", msgs, NOW + 23, NOW + 5), true, "forgotten for every origin");
      });
    });
  });
}
