/**
 * Conformance tests of the per-user stores (E2eeStore, ToDeviceStore, AccountDataStore, FilterStore,
 * KeyBackupStore), run by suite.ts against every backend.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../../core/ids/index.js";
import { KeyConflictError, WrongBackupVersionError, type BackupSession, type Storage } from "../ports.js";
import type { ConformanceTarget } from "./suite.js";

const NOW = 1_700_000_000_000;
const A = "@alice:zion.test" as UserId;
const B = "@bob:zion.test" as UserId;

const otk = (n: number) => ({ algorithm: "signed_curve25519", keyId: `signed_curve25519:K${String(n).padStart(4, "0")}`, key: { key: `key${n}`, signatures: {} } });

export function describeUserStreamStores(target: ConformanceTarget, withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  const reopenSkip = target.noReopenReason ? { skip: target.noReopenReason } : {};
  const withDevices = async (s: Storage, user: UserId, devices: string[]): Promise<void> => {
    await s.users.createUser({ userId: user, passwordHash: null, createdTs: NOW });
    for (const d of devices) await s.users.createLogin({ userId: user, deviceId: d, accessToken: `${user}-${d}`, nowTs: NOW });
  };

  describe("E2eeStore", () => {
    it("stores device keys, one-time and fallback keys and returns the counts; a repeated key is ignored, a changed one refused with nothing written", async () => {
      await withStorage(async (s) => {
        const dk = { user_id: A, device_id: "D1", algorithms: ["m.olm.v1.curve25519-aes-sha2"], keys: { "ed25519:D1": "pub" }, signatures: {} };
        assert.deepEqual(await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", deviceKeys: dk, oneTimeKeys: [otk(1), otk(2)], fallbackKeys: [{ algorithm: "signed_curve25519", keyId: "signed_curve25519:F1", key: { key: "f" } }] }), { signed_curve25519: 2 });
        assert.deepEqual(await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", oneTimeKeys: [otk(2), otk(3)] }), { signed_curve25519: 3 });
        await assert.rejects(s.e2ee.uploadKeys({ userId: A, deviceId: "D1", oneTimeKeys: [otk(4), { ...otk(1), key: { key: "other" } }] }), KeyConflictError);
        assert.deepEqual(await s.e2ee.oneTimeKeyCounts(A, "D1"), { signed_curve25519: 3 }, "K0004 of the refused upload was not written");
        assert.deepEqual(await s.e2ee.unusedFallbackKeyTypes(A, "D1"), ["signed_curve25519"]);
        const keys = await s.e2ee.getDeviceKeys([{ userId: A, deviceIds: [] }, { userId: B, deviceIds: [] }]);
        assert.deepEqual(keys.get(A)?.get("D1"), dk);
        assert.equal(keys.has(B), false);
        assert.equal((await s.e2ee.getDeviceKeys([{ userId: A, deviceIds: ["D2"] }])).size, 0);
      });
    });

    it("claims one-time keys once each, then the fallback key (marked used, still handed out)", async () => {
      await withStorage(async (s) => {
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", oneTimeKeys: [otk(2), otk(1)], fallbackKeys: [{ algorithm: "signed_curve25519", keyId: "signed_curve25519:F1", key: { key: "f" } }] });
        const claim = [{ userId: A, deviceId: "D1", algorithm: "signed_curve25519" }];
        const got = [];
        for (let i = 0; i < 4; i++) got.push(...(await s.e2ee.claimKeys(claim)));
        assert.deepEqual(got.map((k) => [k.keyId, k.fallback]), [["signed_curve25519:K0001", false], ["signed_curve25519:K0002", false], ["signed_curve25519:F1", true], ["signed_curve25519:F1", true]]);
        assert.deepEqual(await s.e2ee.oneTimeKeyCounts(A, "D1"), {});
        assert.deepEqual(await s.e2ee.unusedFallbackKeyTypes(A, "D1"), []);
        assert.deepEqual(await s.e2ee.claimKeys([{ userId: A, deviceId: "D1", algorithm: "other" }, { userId: B, deviceId: "X", algorithm: "signed_curve25519" }]), []);
        // A new fallback key is unused again.
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", fallbackKeys: [{ algorithm: "signed_curve25519", keyId: "signed_curve25519:F2", key: { key: "g" } }] });
        assert.deepEqual(await s.e2ee.unusedFallbackKeyTypes(A, "D1"), ["signed_curve25519"]);
      });
    });

    it("hands each one-time key to exactly one of many claims racing from two connections", reopenSkip, async () => {
      const db = await target.fresh();
      const [s1, s2] = await Promise.all([db.open(), db.open()]);
      try {
        await s1!.e2ee.uploadKeys({ userId: A, deviceId: "D1", oneTimeKeys: Array.from({ length: 30 }, (_, i) => otk(i)) });
        const claim = [{ userId: A, deviceId: "D1", algorithm: "signed_curve25519" }];
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? s1! : s2!).e2ee.claimKeys(claim)));
        const ids = results.flat().map((k) => k.keyId);
        assert.equal(ids.length, 30, "30 keys, 40 claims: 10 get nothing (no fallback key)");
        assert.equal(new Set(ids).size, 30, "no key handed out twice");
        assert.deepEqual(await s2!.e2ee.oneTimeKeyCounts(A, "D1"), {});
      } finally {
        await Promise.all([s1?.close(), s2?.close()]);
      }
    });

    it("stores cross-signing keys and merges uploaded signatures into device and cross-signing keys", async () => {
      await withStorage(async (s) => {
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", deviceKeys: { user_id: A, device_id: "D1", keys: { "ed25519:D1": "dpub" }, signatures: { [A]: { "ed25519:D1": "self" } } } });
        await s.e2ee.setCrossSigningKeys(A, [
          { type: "master", publicKey: "mpub", key: { user_id: A, usage: ["master"], keys: { "ed25519:mpub": "mpub" } } },
          { type: "self_signing", publicKey: "spub", key: { user_id: A, usage: ["self_signing"], keys: { "ed25519:spub": "spub" }, signatures: { [A]: { "ed25519:mpub": "m-sig" } } } },
        ]);
        await s.e2ee.addSignatures([
          { targetUserId: A, targetKeyId: "D1", signerUserId: A, signerKeyId: "ed25519:spub", signature: "ssk-on-device" },
          { targetUserId: A, targetKeyId: "mpub", signerUserId: A, signerKeyId: "ed25519:D1", signature: "device-on-master" },
        ]);
        const dev = (await s.e2ee.getDeviceKeys([{ userId: A, deviceIds: ["D1"] }])).get(A)!.get("D1")!;
        assert.deepEqual(dev["signatures"], { [A]: { "ed25519:D1": "self", "ed25519:spub": "ssk-on-device" } });
        const cs = (await s.e2ee.getCrossSigningKeys([A, B])).get(A)!;
        assert.deepEqual(cs.get("master")?.key["signatures"], { [A]: { "ed25519:D1": "device-on-master" } });
        assert.equal(cs.get("self_signing")?.publicKey, "spub");
        assert.equal(cs.has("user_signing"), false);
        assert.equal((await s.e2ee.getCrossSigningKeys([B])).size, 0);
      });
    });

    it("records device-list changes on a rising stream: key uploads, cross-signing, signatures, device deletion", async () => {
      await withStorage(async (s) => {
        await withDevices(s, A, ["D1", "D2"]);
        const p0 = await s.e2ee.maxDeviceListPosition();
        assert.equal(p0, 2, "each new device is a change (UserStore.createLogin)");
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", deviceKeys: { device_id: "D1" } });
        const p1 = await s.e2ee.maxDeviceListPosition();
        assert.equal(p1, p0 + 1);
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D1", deviceKeys: { device_id: "D1" } });
        assert.equal(await s.e2ee.maxDeviceListPosition(), p1, "the same device keys again are no change");
        await s.e2ee.setCrossSigningKeys(B, [{ type: "master", publicKey: "m", key: {} }]);
        await s.e2ee.addSignatures([{ targetUserId: A, targetKeyId: "D1", signerUserId: A, signerKeyId: "ed25519:x", signature: "s" }]);
        const all = await s.e2ee.deviceListChangesSince(p0, await s.e2ee.maxDeviceListPosition());
        assert.deepEqual(all, [{ userId: B, position: p0 + 2 }, { userId: A, position: p0 + 3 }]);
        assert.deepEqual(await s.e2ee.deviceListChangesSince(p0 + 1, p0 + 2), [{ userId: B, position: p0 + 2 }]);
        // Deleting a device deletes its keys and is a change.
        await s.e2ee.uploadKeys({ userId: A, deviceId: "D2", deviceKeys: { device_id: "D2" }, oneTimeKeys: [otk(1)] });
        const before = await s.e2ee.maxDeviceListPosition();
        assert.equal(await s.users.deleteDevice(A, "D2"), true);
        assert.deepEqual(await s.e2ee.deviceListChangesSince(before, before + 10), [{ userId: A, position: before + 1 }]);
        assert.deepEqual([...(await s.e2ee.getDeviceKeys([{ userId: A, deviceIds: [] }])).get(A)!.keys()], ["D1"]);
        assert.deepEqual(await s.e2ee.oneTimeKeyCounts(A, "D2"), {});
        assert.equal(await s.e2ee.markDeviceListChanged(B), before + 2);
      });
    });
  });

  describe("ToDeviceStore", () => {
    it("queues per device with rising positions, expands * to every device, ignores a repeated txn id, deletes acknowledged messages", async () => {
      await withStorage(async (s) => {
        await withDevices(s, B, ["P", "Q"]);
        const msg = { type: "m.test", sender: A, content: { n: 1 } };
        assert.equal(await s.toDevice.send({ userId: A, deviceId: "D1" }, "t1", [{ userId: B, deviceId: "*", message: msg }, { userId: B, deviceId: "P", message: { ...msg, content: { n: 2 } } }], NOW), true);
        assert.equal(await s.toDevice.send({ userId: A, deviceId: "D1" }, "t1", [{ userId: B, deviceId: "P", message: msg }], NOW), false);
        assert.equal(await s.toDevice.send({ userId: A, deviceId: "D2" }, "t1", [{ userId: B, deviceId: "Q", message: { ...msg, content: { n: 3 } } }], NOW), true, "the txn id is per sending device");
        assert.equal(await s.toDevice.send({ userId: A, deviceId: "D1" }, "t2", [{ userId: B, deviceId: "GONE", message: msg }, { userId: A, deviceId: "*", message: msg }], NOW), true);
        assert.equal(await s.toDevice.maxPosition(), 4, "no device: nothing queued, no position used");
        const p = await s.toDevice.inbox(B, "P", 0, 100);
        assert.deepEqual(p.messages.map((m) => (m["content"] as { n: number }).n), [1, 2]);
        assert.equal(p.position, 3);
        const q1 = await s.toDevice.inbox(B, "Q", 0, 1);
        assert.deepEqual(q1.messages, [msg]);
        const q2 = await s.toDevice.inbox(B, "Q", q1.position, 10);
        assert.deepEqual(q2.messages.map((m) => (m["content"] as { n: number }).n), [3]);
        assert.deepEqual(await s.toDevice.inbox(B, "Q", q2.position, 10), { messages: [], position: q2.position });
        assert.equal(await s.toDevice.acknowledge(B, "P", 2), 1);
        assert.deepEqual((await s.toDevice.inbox(B, "P", 0, 100)).messages.map((m) => (m["content"] as { n: number }).n), [2]);
        assert.equal((await s.toDevice.inbox(B, "Q", 0, 100)).messages.length, 2, "other devices keep theirs");
        // A deleted device's inbox goes with it.
        await s.users.deleteDevice(B, "Q");
        assert.equal((await s.toDevice.inbox(B, "Q", 0, 100)).messages.length, 0);
      });
    });
  });

  describe("AccountDataStore", () => {
    it("keeps global and per-room entries apart, replaces them, and reports changes since a position", async () => {
      await withStorage(async (s) => {
        const p1 = await s.accountData.put(A, null, "m.direct", { a: 1 });
        const p2 = await s.accountData.put(A, "!r:zion.test", "m.tag", { tags: {} });
        const p3 = await s.accountData.put(A, null, "m.direct", { a: 2 });
        await s.accountData.put(B, null, "m.direct", { b: 1 });
        assert.ok(p1 < p2 && p2 < p3);
        assert.deepEqual(await s.accountData.get(A, null, "m.direct"), { a: 2 });
        assert.equal(await s.accountData.get(A, "!r:zion.test", "m.direct"), null);
        assert.deepEqual(await s.accountData.get(A, "!r:zion.test", "m.tag"), { tags: {} });
        assert.deepEqual(await s.accountData.changesSince(A, 0), [
          { roomId: "!r:zion.test", type: "m.tag", content: { tags: {} }, position: p2 },
          { roomId: null, type: "m.direct", content: { a: 2 }, position: p3 },
        ]);
        assert.deepEqual(await s.accountData.changesSince(A, p3), []);
        assert.equal(await s.accountData.maxPosition(), p3 + 1);
      });
    });
  });

  describe("FilterStore", () => {
    it("stores filters as given with ids per user; unknown or malformed ids are null", async () => {
      await withStorage(async (s) => {
        assert.equal(await s.filters.create(A, { room: { timeline: { limit: 10 } } }), "0");
        assert.equal(await s.filters.create(A, { presence: { types: [] } }), "1");
        assert.equal(await s.filters.create(B, {}), "0");
        assert.deepEqual(await s.filters.get(A, "0"), { room: { timeline: { limit: 10 } } });
        assert.deepEqual(await s.filters.get(B, "0"), {});
        assert.equal(await s.filters.get(B, "1"), null);
        assert.equal(await s.filters.get(A, "01"), null);
        assert.equal(await s.filters.get(A, "x"), null);
      });
    });
  });

  describe("KeyBackupStore", () => {
    const session = (over: Partial<BackupSession> = {}): BackupSession => ({ roomId: "!r:zion.test", sessionId: "S", firstMessageIndex: 5, forwardedCount: 1, isVerified: false, sessionData: { d: "orig" }, ...over });

    it("creates, reads, updates and deletes versions; numbers are never reused", async () => {
      await withStorage(async (s) => {
        assert.equal(await s.keyBackup.getVersion(A), null);
        assert.equal(await s.keyBackup.createVersion(A, "m.megolm_backup.v1.curve25519-aes-sha2", { public_key: "p" }), "1");
        assert.equal(await s.keyBackup.createVersion(A, "m.megolm_backup.v1.curve25519-aes-sha2", { public_key: "q" }), "2");
        assert.deepEqual(await s.keyBackup.getVersion(A), { version: "2", algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", authData: { public_key: "q" }, etag: "0", count: 0 });
        assert.equal((await s.keyBackup.getVersion(A, "1"))?.authData["public_key"], "p");
        assert.equal(await s.keyBackup.updateVersion(A, "1", { public_key: "p2" }), true);
        assert.equal((await s.keyBackup.getVersion(A, "1"))?.authData["public_key"], "p2");
        assert.equal(await s.keyBackup.updateVersion(A, "9", {}), false);
        assert.equal(await s.keyBackup.deleteVersion(A, "2"), true);
        assert.equal(await s.keyBackup.deleteVersion(A, "2"), false);
        assert.equal((await s.keyBackup.getVersion(A))?.version, "1", "the newest remaining version is current");
        assert.equal(await s.keyBackup.createVersion(A, "x", {}), "3");
        assert.equal(await s.keyBackup.getVersion(B), null);
        assert.equal(await s.keyBackup.getVersion(A, "abc"), null);
      });
    });

    it("applies the replacement rules, counts keys, changes the etag only on change, and refuses a version that is not current", async () => {
      await withStorage(async (s) => {
        await s.keyBackup.createVersion(A, "alg", {});
        assert.deepEqual(await s.keyBackup.putKeys(A, "1", [session(), session({ sessionId: "T" })]), { etag: "1", count: 2 });
        // Worse on every rule: kept as it was, etag unchanged.
        assert.deepEqual(await s.keyBackup.putKeys(A, "1", [session({ firstMessageIndex: 6, sessionData: { d: "worse" } })]), { etag: "1", count: 2 });
        assert.deepEqual(await s.keyBackup.putKeys(A, "1", [session({ forwardedCount: 2, sessionData: { d: "worse" } })]), { etag: "1", count: 2 });
        // Lower forwarded_count at equal index wins.
        await s.keyBackup.putKeys(A, "1", [session({ forwardedCount: 0, sessionData: { d: "fc0" } })]);
        assert.deepEqual((await s.keyBackup.getKeys(A, "1", "!r:zion.test", "S"))[0]?.sessionData, { d: "fc0" });
        // Lower index wins over forwarded_count.
        await s.keyBackup.putKeys(A, "1", [session({ firstMessageIndex: 1, forwardedCount: 9, sessionData: { d: "i1" } })]);
        assert.deepEqual((await s.keyBackup.getKeys(A, "1", "!r:zion.test", "S"))[0]?.sessionData, { d: "i1" });
        // Verified wins over a lower index; then an unverified key never replaces it.
        await s.keyBackup.putKeys(A, "1", [session({ isVerified: true, firstMessageIndex: 50, sessionData: { d: "verified" } })]);
        const r = await s.keyBackup.putKeys(A, "1", [session({ isVerified: false, firstMessageIndex: 0, forwardedCount: 0, sessionData: { d: "unverified" } })]);
        assert.deepEqual((await s.keyBackup.getKeys(A, "1", "!r:zion.test", "S"))[0], session({ isVerified: true, firstMessageIndex: 50, sessionData: { d: "verified" } }));
        assert.equal(r.count, 2);
        assert.equal((await s.keyBackup.getVersion(A))?.etag, r.etag);
        await s.keyBackup.createVersion(A, "alg", {});
        const err = await s.keyBackup.putKeys(A, "1", [session()]).then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof WrongBackupVersionError && err.currentVersion === "2", String(err));
        assert.equal((await s.keyBackup.getKeys(A, "1")).length, 2, "the refused put wrote nothing");
      });
    });

    it("reads and deletes keys at all three levels", async () => {
      await withStorage(async (s) => {
        await s.keyBackup.createVersion(A, "alg", {});
        await s.keyBackup.putKeys(A, "1", [session(), session({ sessionId: "T" }), session({ roomId: "!q:zion.test" })]);
        assert.equal((await s.keyBackup.getKeys(A, "1")).length, 3);
        assert.equal((await s.keyBackup.getKeys(A, "1", "!r:zion.test")).length, 2);
        assert.equal((await s.keyBackup.getKeys(A, "1", "!r:zion.test", "T")).length, 1);
        assert.deepEqual(await s.keyBackup.getKeys(A, "2"), []);
        const e0 = (await s.keyBackup.getVersion(A))!.etag;
        assert.equal((await s.keyBackup.deleteKeys(A, "1", "!r:zion.test", "T"))?.count, 2);
        assert.equal((await s.keyBackup.deleteKeys(A, "1", "!r:zion.test"))?.count, 1);
        const d = await s.keyBackup.deleteKeys(A, "1");
        assert.equal(d?.count, 0);
        assert.notEqual(d?.etag, e0);
        assert.equal(await s.keyBackup.deleteKeys(A, "7"), null);
        await s.keyBackup.putKeys(A, "1", [session()]);
        assert.equal(await s.keyBackup.deleteVersion(A, "1"), true);
        assert.deepEqual(await s.keyBackup.getKeys(A, "1"), [], "a deleted version's keys are gone");
      });
    });
  });
}
