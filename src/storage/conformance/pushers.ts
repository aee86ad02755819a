/** Conformance for PusherStore (migration 0015): one pusher per user and (app_id, pushkey), append, delete, and pushers going with their device. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../../core/ids/index.js";
import type { PusherRecord, Storage } from "../ports.js";

const ALICE = "@alice:pushers.test" as UserId;
const BOB = "@bob:pushers.test" as UserId;

function pusher(userId: UserId, pushkey: string, extra: Partial<PusherRecord> = {}): PusherRecord {
  return {
    userId, appId: "org.example.app", pushkey, kind: "http", appDisplayName: "App", deviceDisplayName: "Phone",
    profileTag: null, lang: "en", data: { url: "https://push.example/_matrix/push/v1/notify" }, deviceId: "DEV1", pushkeyTs: 1000,
    ...extra,
  };
}

export function pusherConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("PusherStore", () => {
    it("lists a user's pushers with every field, and setting the same (app_id, pushkey) again replaces it", async () => {
      await withStorage(async (s) => {
        await s.pushers.set(pusher(ALICE, "k2"), false);
        await s.pushers.set(pusher(ALICE, "k1", { profileTag: "tag", data: { url: "https://a/_matrix/push/v1/notify", format: "event_id_only", extra: [1] } }), false);
        assert.deepEqual((await s.pushers.list(ALICE)).map((p) => p.pushkey), ["k1", "k2"]);
        assert.deepEqual((await s.pushers.list(ALICE))[0], pusher(ALICE, "k1", { profileTag: "tag", data: { url: "https://a/_matrix/push/v1/notify", format: "event_id_only", extra: [1] } }));
        await s.pushers.set(pusher(ALICE, "k1", { lang: "fr", pushkeyTs: 2000, deviceId: "DEV2" }), false);
        const again = await s.pushers.list(ALICE);
        assert.equal(again.length, 2, "replaced, not added");
        assert.deepEqual([again[0]!.lang, again[0]!.pushkeyTs, again[0]!.deviceId, again[0]!.profileTag], ["fr", 2000, "DEV2", null]);
        assert.deepEqual(await s.pushers.list(BOB), []);
      });
    });

    it("without append removes other users' pushers with the same (app_id, pushkey); with append keeps them", async () => {
      await withStorage(async (s) => {
        await s.pushers.set(pusher(ALICE, "shared"), false);
        await s.pushers.set(pusher(BOB, "shared"), true);
        assert.equal((await s.pushers.list(ALICE)).length, 1, "append: alice keeps hers");
        assert.equal((await s.pushers.list(BOB)).length, 1);
        await s.pushers.set(pusher(BOB, "shared", { appId: "other.app" }), false);
        assert.equal((await s.pushers.list(ALICE)).length, 1, "another app_id is another pusher");
        await s.pushers.set(pusher(BOB, "shared"), false);
        assert.deepEqual(await s.pushers.list(ALICE), [], "not append: alice's pusher with the same pair is gone");
        assert.equal((await s.pushers.list(BOB)).length, 2);
      });
    });

    it("deletes one pusher by (user, app_id, pushkey), answering whether it existed", async () => {
      await withStorage(async (s) => {
        await s.pushers.set(pusher(ALICE, "a"), false);
        await s.pushers.set(pusher(ALICE, "b"), false);
        assert.equal(await s.pushers.delete(BOB, "org.example.app", "a"), false, "another user's pusher is not touched");
        assert.equal(await s.pushers.delete(ALICE, "org.example.app", "a"), true);
        assert.equal(await s.pushers.delete(ALICE, "org.example.app", "a"), false);
        assert.deepEqual((await s.pushers.list(ALICE)).map((p) => p.pushkey), ["b"]);
      });
    });

    it("deleting a device deletes the pushers its access token set, and only those", async () => {
      await withStorage(async (s) => {
        await s.users.createUser({ userId: ALICE, passwordHash: null, createdTs: 1 });
        for (const d of ["DEV1", "DEV2"]) await s.users.createLogin({ userId: ALICE, deviceId: d, accessToken: `tok-${d}`, nowTs: 1 });
        await s.pushers.set(pusher(ALICE, "one", { deviceId: "DEV1" }), false);
        await s.pushers.set(pusher(ALICE, "two", { deviceId: "DEV2" }), false);
        assert.equal(await s.users.deleteDevice(ALICE, "DEV1"), true);
        assert.deepEqual((await s.pushers.list(ALICE)).map((p) => p.pushkey), ["two"]);
        await s.users.deleteDevices(ALICE, ["DEV2"]);
        assert.deepEqual(await s.pushers.list(ALICE), []);
      });
    });
  });
}
