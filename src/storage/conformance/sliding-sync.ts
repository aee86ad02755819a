/**
 * Conformance for SlidingSyncStore (migration 0013): connection positions and their per-room rows, the
 * position checks behind M_UNKNOWN_POS, clean-up of superseded and abandoned positions, expiry, the per-device cap,
 * connections deleted with their device,
 * and the bulk reads the room list orders and filters with (activity, current state entries, memberships), and the
 * room-list tables kept with the events (migration 0023: activity, bump stamps, facts, membership snapshots). Called
 * from suite.ts for every backend.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RoomId, UserId } from "../../core/ids/index.js";
import { stateKeyOf } from "../../core/events/pdu.js";
import type { SlidingSyncConnectionKey, SlidingSyncRoomState, Storage } from "../ports.js";
import { ALICE, BOB, OTHER_ROOM, ROOM, eid, pdu } from "./fixtures.js";

const KEY: SlidingSyncConnectionKey = { userId: ALICE, deviceId: "DEV", connId: "main" };
const room = (roomId: RoomId, over: Partial<SlidingSyncRoomState> = {}): SlidingSyncRoomState => ({
  roomId, status: "live", lastEvents: 5, membership: "join", config: { timeline_limit: 1 }, lazyMembers: [], ...over,
});
const DAY = 86_400_000;

export function slidingSyncConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("SlidingSyncStore", () => {
    it("saves a position with its rooms and loads it back for the same user, device and conn_id only", async () => {
      await withStorage(async (s) => {
        const p = await s.slidingSync.savePosition(KEY, { base: null, token: "s5", lists: { all: 2 }, rooms: [room(ROOM, { lazyMembers: ["@bob:remote.test"] })] }, 1000, 10);
        assert.ok(p !== null);
        const got = await s.slidingSync.loadPosition(KEY, p, 2000, 0);
        assert.equal(got?.token, "s5");
        assert.deepEqual(got?.lists, { all: 2 });
        assert.deepEqual(got?.rooms?.get(ROOM), room(ROOM, { lazyMembers: ["@bob:remote.test"] }));
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, connId: "other" }, p, 2000, 0), null);
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, deviceId: "OTHER" }, p, 2000, 0), null);
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, userId: "@mallory:zion.test" as UserId }, p, 2000, 0), null);
        assert.equal(await s.slidingSync.loadPosition(KEY, p + 1000, 2000, 0), null);
      });
    });

    it("builds a position on its base: rooms replaced, the others carried over, and loads it without rooms when asked", async () => {
      await withStorage(async (s) => {
        const p1 = (await s.slidingSync.savePosition(KEY, { base: null, token: "s5", lists: {}, rooms: [room(ROOM), room(OTHER_ROOM)] }, 1000, 10))!;
        const p2 = (await s.slidingSync.savePosition(KEY, { base: p1, token: "s9", lists: {}, rooms: [room(ROOM, { status: "previously", lastEvents: 5 })] }, 1100, 10))!;
        const p3 = (await s.slidingSync.savePosition(KEY, { base: p2, token: "s12", lists: {}, rooms: [] }, 1200, 10))!;
        assert.ok(p1 < p2 && p2 < p3);
        const at3 = await s.slidingSync.loadPosition(KEY, p3, 1300, 0);
        assert.equal(at3?.token, "s12");
        assert.equal(at3?.rooms?.get(ROOM)?.status, "previously");
        assert.equal(at3?.rooms?.get(OTHER_ROOM)?.status, "live");
        assert.equal(at3?.rooms?.size, 2);
        const bare = await s.slidingSync.loadPosition(KEY, p3, 1400, 0, { withRooms: false });
        assert.equal(bare?.token, "s12");
        assert.equal(bare?.rooms, null);
      });
    });

    it("deletes the connection's other positions when one is used: older ones and abandoned retries alike", async () => {
      await withStorage(async (s) => {
        const p1 = (await s.slidingSync.savePosition(KEY, { base: null, token: "s1", lists: {}, rooms: [room(ROOM)] }, 1000, 10))!;
        const p2 = (await s.slidingSync.savePosition(KEY, { base: p1, token: "s2", lists: {}, rooms: [room(OTHER_ROOM)] }, 1000, 10))!;
        // The client retried with p1 (it never processed p2's response): p2 goes, p1 still answers.
        assert.ok(await s.slidingSync.loadPosition(KEY, p1, 1000, 0));
        assert.equal(await s.slidingSync.loadPosition(KEY, p2, 1000, 0), null);
        assert.equal(await s.slidingSync.savePosition(KEY, { base: p2, token: "s3", lists: {}, rooms: [] }, 1000, 10), null);
        const p3 = (await s.slidingSync.savePosition(KEY, { base: p1, token: "s3", lists: {}, rooms: [room(OTHER_ROOM, { membership: "leave" })] }, 1000, 10))!;
        const at3 = await s.slidingSync.loadPosition(KEY, p3, 1000, 0);
        assert.equal(at3?.rooms?.get(OTHER_ROOM)?.membership, "leave");
        assert.equal(await s.slidingSync.loadPosition(KEY, p1, 1000, 0), null, "p1 is superseded once p3 was used");
      });
    });

    it("never lets a sibling position's rooms into another branch, and replaces a room's older row", async () => {
      await withStorage(async (s) => {
        const p1 = (await s.slidingSync.savePosition(KEY, { base: null, token: "s1", lists: {}, rooms: [room(ROOM)] }, 1000, 10))!;
        // Two requests with p1 (a retry): each builds its own position on p1.
        const p2 = (await s.slidingSync.savePosition(KEY, { base: p1, token: "s2", lists: {}, rooms: [room(ROOM, { status: "previously", lastEvents: 1 })] }, 1000, 10))!;
        const p3 = (await s.slidingSync.savePosition(KEY, { base: p1, token: "s3", lists: {}, rooms: [] }, 1000, 10))!;
        const at3 = await s.slidingSync.loadPosition(KEY, p3, 1000, 0);
        assert.equal(at3?.rooms?.get(ROOM)?.status, "live", "p2's change is not in p3's branch");
        assert.equal(await s.slidingSync.loadPosition(KEY, p2, 1000, 0), null);
        const p4 = (await s.slidingSync.savePosition(KEY, { base: p3, token: "s4", lists: {}, rooms: [room(ROOM, { membership: "leave" })] }, 1000, 10))!;
        const at4 = await s.slidingSync.loadPosition(KEY, p4, 1000, 0);
        assert.equal(at4?.rooms?.get(ROOM)?.membership, "leave");
        const p5 = (await s.slidingSync.savePosition(KEY, { base: p4, token: "s5", lists: {}, rooms: [room(OTHER_ROOM)] }, 1000, 10))!;
        const at5 = await s.slidingSync.loadPosition(KEY, p5, 1000, 0);
        assert.equal(at5?.rooms?.get(ROOM)?.membership, "leave", "the replaced row does not come back");
        assert.equal(at5?.rooms?.size, 2);
      });
    });

    it("starts a connection afresh without a base, expires idle connections and keeps at most maxConnections per device", async () => {
      await withStorage(async (s) => {
        const p1 = (await s.slidingSync.savePosition(KEY, { base: null, token: "s1", lists: {}, rooms: [room(ROOM)] }, 1000, 10))!;
        const fresh = (await s.slidingSync.savePosition(KEY, { base: null, token: "s2", lists: {}, rooms: [] }, 1000, 10))!;
        assert.equal(await s.slidingSync.loadPosition(KEY, p1, 1000, 0), null);
        assert.equal((await s.slidingSync.loadPosition(KEY, fresh, 1000, 0))?.rooms?.size, 0, "a fresh connection knows no rooms");
        // Idle since 1000: expired when loaded with a cut-off after that.
        assert.equal(await s.slidingSync.loadPosition(KEY, fresh, 1000 + 8 * DAY, 1000 + DAY), null);
        // The cap: a third connection on the device drops the least recently used one.
        const a = (await s.slidingSync.savePosition({ ...KEY, connId: "a" }, { base: null, token: "s1", lists: {}, rooms: [] }, 10, 2))!;
        const b = (await s.slidingSync.savePosition({ ...KEY, connId: "b" }, { base: null, token: "s1", lists: {}, rooms: [] }, 20, 2))!;
        const c = (await s.slidingSync.savePosition({ ...KEY, connId: "c" }, { base: null, token: "s1", lists: {}, rooms: [] }, 30, 2))!;
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, connId: "a" }, a, 40, 0), null);
        assert.ok(await s.slidingSync.loadPosition({ ...KEY, connId: "b" }, b, 40, 0));
        assert.ok(await s.slidingSync.loadPosition({ ...KEY, connId: "c" }, c, 40, 0));
      });
    });

    it("deletes a device's connections with the device (logout, device deletion), and only that device's", async () => {
      await withStorage(async (s) => {
        await s.users.createUser({ userId: ALICE, passwordHash: null, createdTs: 1 });
        for (const d of ["DEV", "DEV2", "DEV3"]) await s.users.createLogin({ userId: ALICE, deviceId: d, accessToken: `tok-${d}`, nowTs: 1 });
        const save = (deviceId: string, connId: string) => s.slidingSync.savePosition({ ...KEY, deviceId, connId }, { base: null, token: "s1", lists: {}, rooms: [room(ROOM)] }, 1000, 10);
        const a = (await save("DEV", "main"))!;
        const b = (await save("DEV", "other"))!;
        const c = (await save("DEV2", "main"))!;
        const d = (await save("DEV3", "main"))!;
        assert.equal(await s.users.deleteDevice(ALICE, "DEV"), true);
        assert.equal(await s.slidingSync.loadPosition(KEY, a, 1000, 0), null);
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, connId: "other" }, b, 1000, 0), null);
        const kept = await s.slidingSync.loadPosition({ ...KEY, deviceId: "DEV2" }, c, 1000, 0);
        assert.equal(kept?.rooms?.size, 1, "another device's connection stays");
        // The same device id logging in again starts without the old connection.
        await s.users.createLogin({ userId: ALICE, deviceId: "DEV", accessToken: "tok-again", nowTs: 2 });
        assert.equal(await s.slidingSync.loadPosition(KEY, a, 1000, 0), null);
        await s.users.deleteAllDevices(ALICE);
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, deviceId: "DEV2" }, c, 1000, 0), null);
        assert.equal(await s.slidingSync.loadPosition({ ...KEY, deviceId: "DEV3" }, d, 1000, 0), null);
      });
    });

    it("reads each room's newest visible event, of given types when asked, the rooms that moved in a range, and current state entries in bulk", async () => {
      await withStorage(async (s) => {
        const r = await s.events.persistEvents({
          receivedTs: 1,
          events: [
            { pdu: pdu({ id: "c", type: "m.room.create", stateKey: "", content: { creator: ALICE } }) },
            { pdu: pdu({ id: "m1", prev: ["c"], depth: 2 }) },
            { pdu: pdu({ id: "e1", type: "m.room.encryption", stateKey: "", prev: ["m1"], depth: 3, content: { algorithm: "m.megolm.v1.aes-sha2" } }) },
            { pdu: pdu({ id: "rej", prev: ["e1"], depth: 4 }), rejectionReason: "auth" },
            { pdu: pdu({ id: "o1", room: OTHER_ROOM, type: "m.room.create", stateKey: "", content: { creator: ALICE } }) },
          ],
          state: [
            { roomId: ROOM, set: new Map([[stateKeyOf("m.room.create", ""), eid("c")], [stateKeyOf("m.room.encryption", ""), eid("e1")]]) },
            { roomId: OTHER_ROOM, set: new Map([[stateKeyOf("m.room.create", ""), eid("o1")]]) },
          ],
        });
        const at = (id: string) => r.orderings.get(eid(id))!;
        const latest = await s.slidingSync.latestEventPositions([ROOM, OTHER_ROOM, "!none:zion.test" as RoomId], r.maxOrdering, null);
        assert.equal(latest.get(ROOM), at("e1"), "the rejected event is not activity");
        assert.equal(latest.get(OTHER_ROOM), at("o1"));
        assert.equal(latest.has("!none:zion.test" as RoomId), false);
        const bump = await s.slidingSync.latestEventPositions([ROOM], r.maxOrdering, ["m.room.create", "m.room.message"]);
        assert.equal(bump.get(ROOM), at("m1"));
        const before = await s.slidingSync.latestEventPositions([ROOM], at("m1"), null);
        assert.equal(before.get(ROOM), at("m1"));
        const enc = await s.slidingSync.currentStateEventIds([ROOM, OTHER_ROOM], "m.room.encryption", "");
        assert.deepEqual([...enc], [[ROOM, eid("e1")]]);
      });
    });

    it("reads the user's memberships in bulk, out-of-band ones with their stripped state and a forward position", async () => {
      await withStorage(async (s) => {
        const FAR = "!far:remote.test" as RoomId;
        const r = await s.events.persistEvents({
          receivedTs: 1,
          events: [
            { pdu: pdu({ id: "c", type: "m.room.create", stateKey: "", sender: ALICE, content: { creator: ALICE } }) },
            { pdu: pdu({ id: "j", type: "m.room.member", stateKey: ALICE, sender: ALICE, prev: ["c"], depth: 2, content: { membership: "join" } }) },
          ],
          rooms: [{ roomId: ROOM, roomVersion: "10", creator: ALICE }],
          state: [{ roomId: ROOM, set: new Map([[stateKeyOf("m.room.create", ""), eid("c")], [stateKeyOf("m.room.member", ALICE), eid("j")]]) }],
        });
        const stripped = [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" }, sender: BOB }];
        const o = await s.events.persistEvents({
          receivedTs: 2,
          events: [{ pdu: pdu({ id: "inv", room: FAR, type: "m.room.member", stateKey: ALICE, sender: BOB, content: { membership: "invite" } }), outlier: true }],
          outOfBand: [{ roomId: FAR, userId: ALICE, membership: "invite", eventId: eid("inv"), strippedState: stripped }],
        });
        const m = await s.slidingSync.memberships(ALICE, [ROOM, FAR, OTHER_ROOM]);
        assert.deepEqual([...m.keys()].sort(), [FAR, ROOM].sort(), "a room without a membership is absent");
        assert.deepEqual(m.get(ROOM), { membership: "join", eventId: eid("j"), streamOrdering: m.get(ROOM)!.streamOrdering, strippedState: null });
        assert.ok(m.get(ROOM)!.streamOrdering >= r.orderings.get(eid("j"))!);
        assert.deepEqual(m.get(FAR), { membership: "invite", eventId: eid("inv"), streamOrdering: o.maxOrdering, strippedState: stripped });
        assert.ok(o.maxOrdering > 0 && o.orderings.get(eid("inv"))! < 0, "the invite is an outlier; its membership has a forward position");
        assert.equal((await s.slidingSync.memberships(BOB, [ROOM, FAR])).size, 0, "another user's memberships are not read");
      });
    });
    it("keeps each room's activity and bump stamp with its events: forward visible events only, bumping types for the bump stamp, backfill and rejections neither", async () => {
      await withStorage(async (s) => {
        const create = { pdu: pdu({ id: "c", type: "m.room.create", stateKey: "", content: { creator: ALICE, type: "m.space" } }) };
        const r1 = await s.events.persistEvents({
          receivedTs: 1, events: [create, { pdu: pdu({ id: "m1", prev: ["c"], depth: 2 }) }],
          state: [{ roomId: ROOM, set: new Map([[stateKeyOf("m.room.create", ""), eid("c")]]) }],
        });
        let row = (await s.slidingSync.roomListRooms([ROOM])).get(ROOM);
        assert.equal(row?.activity, r1.orderings.get(eid("m1")));
        assert.equal(row?.bumpStamp, r1.orderings.get(eid("m1")));
        assert.deepEqual([row?.roomType, row?.encrypted, row?.name, row?.tombstoneSuccessor], ["m.space", false, null, null]);
        // A topic is activity but does not bump; the room's name and encryption come with their state.
        const r2 = await s.events.persistEvents({
          receivedTs: 2,
          events: [
            { pdu: pdu({ id: "t", type: "m.room.topic", stateKey: "", prev: ["m1"], depth: 3, content: { topic: "x" } }) },
            { pdu: pdu({ id: "n", type: "m.room.name", stateKey: "", prev: ["t"], depth: 4, content: { name: "Lobby" } }) },
            { pdu: pdu({ id: "e", type: "m.room.encryption", stateKey: "", prev: ["n"], depth: 5, content: { algorithm: "m.megolm.v1.aes-sha2" } }) },
          ],
          state: [{ roomId: ROOM, set: new Map([[stateKeyOf("m.room.topic", ""), eid("t")], [stateKeyOf("m.room.name", ""), eid("n")], [stateKeyOf("m.room.encryption", ""), eid("e")]]) }],
        });
        row = (await s.slidingSync.roomListRooms([ROOM])).get(ROOM);
        assert.equal(row?.activity, r2.orderings.get(eid("e")));
        assert.equal(row?.bumpStamp, r1.orderings.get(eid("m1")), "state events do not bump");
        assert.deepEqual([row?.roomType, row?.encrypted, row?.name], ["m.space", true, "Lobby"]);
        // Backfilled history, a rejected and a soft-failed event move nothing.
        await s.events.persistEvents({ receivedTs: 3, events: [{ pdu: pdu({ id: "old", prev: [], depth: 1 }), backfilled: true }] });
        await s.events.persistEvents({
          receivedTs: 4,
          events: [{ pdu: pdu({ id: "rej", prev: ["e"], depth: 6 }), rejectionReason: "auth" }, { pdu: pdu({ id: "soft", prev: ["e"], depth: 6 }), softFailed: true }],
        });
        const after = (await s.slidingSync.roomListRooms([ROOM])).get(ROOM);
        assert.deepEqual([after?.activity, after?.bumpStamp], [row?.activity, row?.bumpStamp]);
        // A message bumps; a later batch whose events are all older (an outlier) never moves the positions back.
        const r3 = await s.events.persistEvents({ receivedTs: 5, events: [{ pdu: pdu({ id: "m2", prev: ["e"], depth: 6 }) }] });
        await s.events.persistEvents({ receivedTs: 6, events: [{ pdu: pdu({ id: "out", prev: ["e"], depth: 6 }), outlier: true }] });
        const last = (await s.slidingSync.roomListRooms([ROOM, OTHER_ROOM])).get(ROOM);
        assert.deepEqual([last?.activity, last?.bumpStamp], [r3.orderings.get(eid("m2")), r3.orderings.get(eid("m2"))]);
        assert.equal((await s.slidingSync.roomListRooms([OTHER_ROOM])).size, 0, "a room without events or state has no row");
      });
    });

    it("snapshots a local user's membership at each change with the room's state just after it, and none for remote users", async () => {
      await withStorage(async (s) => {
        await s.users.createUser({ userId: ALICE, passwordHash: null, createdTs: 1 });
        const st = (entries: [string, string, string][]) => [{ roomId: ROOM, set: new Map(entries.map(([t, k, id]) => [stateKeyOf(t, k), eid(id)] as const)) }];
        await s.events.persistEvents({
          receivedTs: 1,
          events: [
            { pdu: pdu({ id: "c", type: "m.room.create", stateKey: "", sender: BOB, content: { creator: BOB } }) },
            { pdu: pdu({ id: "bj", type: "m.room.member", stateKey: BOB, sender: BOB, prev: ["c"], depth: 2, content: { membership: "join" } }) },
            { pdu: pdu({ id: "inv", type: "m.room.member", stateKey: ALICE, sender: BOB, prev: ["bj"], depth: 3, content: { membership: "invite" } }) },
          ],
          state: st([["m.room.create", "", "c"], ["m.room.member", BOB, "bj"], ["m.room.member", ALICE, "inv"]]),
        });
        let snap = (await s.slidingSync.roomListMemberships(ALICE, [ROOM])).get(ROOM);
        assert.deepEqual([snap?.membership, snap?.eventId, snap?.sender, snap?.state?.encrypted], ["invite", eid("inv"), BOB, false]);
        assert.equal((await s.slidingSync.roomListMemberships(BOB, [ROOM])).size, 0, "remote users have no snapshots");
        const j = await s.events.persistEvents({
          receivedTs: 2,
          events: [{ pdu: pdu({ id: "aj", type: "m.room.member", stateKey: ALICE, sender: ALICE, prev: ["inv"], depth: 4, content: { membership: "join" } }) }],
          state: st([["m.room.member", ALICE, "aj"]]),
        });
        snap = (await s.slidingSync.roomListMemberships(ALICE, [ROOM])).get(ROOM);
        assert.deepEqual([snap?.membership, snap?.eventId, snap?.streamOrdering], ["join", eid("aj"), j.maxOrdering]);
        // The room becomes encrypted and named while Alice is in it: her snapshot stays as it was at her join.
        await s.events.persistEvents({
          receivedTs: 3,
          events: [
            { pdu: pdu({ id: "e", type: "m.room.encryption", stateKey: "", sender: BOB, prev: ["aj"], depth: 5, content: { algorithm: "m.megolm.v1.aes-sha2" } }) },
            { pdu: pdu({ id: "n", type: "m.room.name", stateKey: "", sender: BOB, prev: ["e"], depth: 6, content: { name: "Secret" } }) },
          ],
          state: st([["m.room.encryption", "", "e"], ["m.room.name", "", "n"]]),
        });
        snap = (await s.slidingSync.roomListMemberships(ALICE, [ROOM])).get(ROOM);
        assert.deepEqual([snap?.eventId, snap?.state?.encrypted, snap?.state?.name], [eid("aj"), false, null]);
        // Kicked: the snapshot holds the leave and the state then; what happens afterwards does not change it.
        await s.events.persistEvents({
          receivedTs: 4,
          events: [{ pdu: pdu({ id: "kick", type: "m.room.member", stateKey: ALICE, sender: BOB, prev: ["n"], depth: 7, content: { membership: "leave" } }) }],
          state: st([["m.room.member", ALICE, "kick"]]),
        });
        await s.events.persistEvents({
          receivedTs: 5,
          events: [{ pdu: pdu({ id: "n2", type: "m.room.name", stateKey: "", sender: BOB, prev: ["kick"], depth: 8, content: { name: "Renamed" } }) }],
          state: st([["m.room.name", "", "n2"]]),
        });
        snap = (await s.slidingSync.roomListMemberships(ALICE, [ROOM])).get(ROOM);
        assert.deepEqual([snap?.membership, snap?.eventId, snap?.sender, snap?.state?.encrypted, snap?.state?.name], ["leave", eid("kick"), BOB, true, "Secret"]);
        assert.equal((await s.slidingSync.roomListRooms([ROOM])).get(ROOM)?.name, "Renamed");
        // An out-of-band invite to a room not held: a snapshot without state (the stripped state is what there is).
        const FAR = "!far:remote.test" as RoomId;
        await s.events.persistEvents({
          receivedTs: 6,
          events: [{ pdu: pdu({ id: "far", room: FAR, type: "m.room.member", stateKey: ALICE, sender: BOB, content: { membership: "invite" } }), outlier: true }],
          outOfBand: [{ roomId: FAR, userId: ALICE, membership: "invite", eventId: eid("far"), strippedState: [] }],
        });
        const far = (await s.slidingSync.roomListMemberships(ALICE, [FAR])).get(FAR);
        assert.deepEqual([far?.membership, far?.eventId, far?.state], ["invite", eid("far"), null]);
      });
    });
  });
}
