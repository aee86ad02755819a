/**
 * Conformance for AdminStore: the admin API's user listing, the admin flag, reactivation, registration tokens
 * (migration 0009); the room list, blocks and purges (0011).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { stateKeyOf } from "../../core/events/index.js";
import type { EventId, RoomAlias, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { UniqueViolationError, type EventToPersist, type Storage, type UserListQuery } from "../ports.js";
import { eid, pdu } from "./fixtures.js";

const u = (local: string) => `@${local}:conformance.test` as UserId;
const Q: UserListQuery = { from: 0, limit: 100, deactivated: true, orderBy: "name", dir: "f" };

async function seed(s: Storage): Promise<void> {
  await s.users.createUser({ userId: u("carol"), passwordHash: "h", createdTs: 30, displayname: "Carol 100%" });
  await s.users.createUser({ userId: u("alice"), passwordHash: "h", createdTs: 20, admin: true, displayname: "Alice" });
  await s.users.createUser({ userId: u("bob"), passwordHash: "h", createdTs: 10, displayname: null });
  await s.users.createUser({ userId: u("dave_x"), passwordHash: "h", createdTs: 40, displayname: "Dave" });
  await s.users.deactivateUser(u("dave_x"));
}

export function adminConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("AdminStore", () => {
    it("lists users by name, creation time or display name in both directions, paged with the total", async () => {
      await withStorage(async (s) => {
        await seed(s);
        const ids = async (q: Partial<UserListQuery>) => (await s.admin.listUsers({ ...Q, ...q })).users.map((r) => r.userId.slice(1, r.userId.indexOf(":")));
        assert.deepEqual(await ids({}), ["alice", "bob", "carol", "dave_x"]);
        assert.deepEqual(await ids({ dir: "b" }), ["dave_x", "carol", "bob", "alice"]);
        assert.deepEqual(await ids({ orderBy: "creation_ts" }), ["bob", "alice", "carol", "dave_x"]);
        assert.deepEqual(await ids({ orderBy: "displayname" }), ["bob", "alice", "carol", "dave_x"], "no display name sorts as the empty string");
        assert.deepEqual(await ids({ orderBy: "admin", dir: "b" }), ["alice", "dave_x", "carol", "bob"], "ties broken by user id in the same direction");
        const page = await s.admin.listUsers({ ...Q, from: 1, limit: 2 });
        assert.deepEqual(page.users.map((r) => r.userId), [u("bob"), u("carol")]);
        assert.equal(page.total, 4);
        const alice = (await s.admin.listUsers({ ...Q, limit: 1 })).users[0]!;
        assert.deepEqual(alice, { userId: u("alice"), displayname: "Alice", avatarUrl: null, admin: true, deactivated: false, createdTs: 20 });
      });
    });

    it("filters by name (case-insensitive substring of id or display name, wildcards literal), admins and deactivated", async () => {
      await withStorage(async (s) => {
        await seed(s);
        const ids = async (q: Partial<UserListQuery>) => (await s.admin.listUsers({ ...Q, ...q })).users.map((r) => r.userId);
        assert.deepEqual(await ids({ name: "ALI" }), [u("alice")]);
        assert.deepEqual(await ids({ name: "dave" }), [u("dave_x")]);
        assert.deepEqual(await ids({ name: "100%" }), [u("carol")], "% matches itself");
        assert.deepEqual(await ids({ name: "e_x" }), [u("dave_x")], "_ matches itself");
        assert.deepEqual(await ids({ name: "a_i" }), [], "_ is no wildcard");
        assert.deepEqual(await ids({ deactivated: false }), [u("alice"), u("bob"), u("carol")]);
        assert.deepEqual(await ids({ admins: true }), [u("alice")]);
        assert.deepEqual(await ids({ admins: false, deactivated: false }), [u("bob"), u("carol")]);
        assert.equal((await s.admin.listUsers({ ...Q, name: "l", limit: 1 })).total, 2, "the total counts every match, not the page");
      });
    });

    it("sets the admin flag and reactivates with a new password; both are false for an unknown user", async () => {
      await withStorage(async (s) => {
        await seed(s);
        assert.equal(await s.admin.setAdmin(u("bob"), true), true);
        assert.equal((await s.users.getUser(u("bob")))!.admin, true);
        assert.equal(await s.admin.setAdmin(u("bob"), false), true);
        assert.equal((await s.users.getUser(u("bob")))!.admin, false);
        assert.equal(await s.admin.setAdmin(u("nobody"), true), false);
        assert.equal(await s.admin.reactivateUser(u("dave_x"), "new hash"), true);
        const dave = (await s.users.getUser(u("dave_x")))!;
        assert.equal(dave.deactivated, false);
        assert.equal(dave.passwordHash, "new hash");
        assert.equal(await s.admin.reactivateUser(u("nobody"), null), false);
        assert.equal(await s.users.getUser(u("nobody")), null);
      });
    });

    it("creates, reads, lists (valid or not), updates and deletes registration tokens; a taken token is a UniqueViolationError", async () => {
      await withStorage(async (s) => {
        const base = { pending: 0, completed: 0 };
        await s.admin.createRegistrationToken({ token: "open", usesAllowed: null, expiryTime: null, ...base });
        await s.admin.createRegistrationToken({ token: "usedup", usesAllowed: 2, expiryTime: null, pending: 1, completed: 1 });
        await s.admin.createRegistrationToken({ token: "expired", usesAllowed: 5, expiryTime: 1000, ...base });
        await assert.rejects(s.admin.createRegistrationToken({ token: "open", usesAllowed: 1, expiryTime: null, ...base }), (e: unknown) => e instanceof UniqueViolationError && e.what === "registration token");
        assert.deepEqual(await s.admin.getRegistrationToken("open"), { token: "open", usesAllowed: null, expiryTime: null, ...base });
        assert.equal(await s.admin.getRegistrationToken("missing"), null);
        const tokens = async (valid?: boolean) => (await s.admin.listRegistrationTokens({ valid, nowTs: 2000 })).map((t) => t.token);
        assert.deepEqual(await tokens(), ["expired", "open", "usedup"]);
        assert.deepEqual(await tokens(true), ["open"]);
        assert.deepEqual(await tokens(false), ["expired", "usedup"]);
        assert.deepEqual(await s.admin.updateRegistrationToken("expired", { expiryTime: null }), { token: "expired", usesAllowed: 5, expiryTime: null, ...base });
        assert.deepEqual(await s.admin.updateRegistrationToken("expired", { usesAllowed: null }), { token: "expired", usesAllowed: null, expiryTime: null, ...base });
        assert.equal(await s.admin.updateRegistrationToken("missing", { usesAllowed: 1 }), null);
        assert.equal(await s.admin.deleteRegistrationToken("usedup"), true);
        assert.equal(await s.admin.deleteRegistrationToken("usedup"), false);
        assert.deepEqual(await tokens(), ["expired", "open"]);
      });
    });

    it("reserves a use only while the token is usable (pending + completed < uses_allowed, not expired), then completes or releases it", async () => {
      await withStorage(async (s) => {
        await s.admin.createRegistrationToken({ token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 0 });
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), false, "two pending uses fill uses_allowed 2");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 2, completed: 0 });
        await s.admin.releaseRegistrationToken("two");
        await s.admin.completeRegistrationToken("two");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 1 });
        assert.equal(await s.admin.reserveRegistrationToken("two", 5000), false, "expired at its expiry_time");
        assert.equal(await s.admin.reserveRegistrationToken("missing", 1000), false);
        await s.admin.completeRegistrationToken("two");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 1 }, "no pending use to complete: unchanged");
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), false, "one completed and one pending fill it");
      });
    });
  
    it("summarises every room from its current state: counts, local members, published, blocked and the shown contents", async () => {
      await withStorage(async (s) => {
        await seedRoom(s, ROOM_P, "p");
        await seedRoom(s, ROOM_Q, "q");
        await s.roomClient.setPublished(ROOM_Q, true, 1);
        await s.admin.blockRoom(ROOM_P, u("alice"), 5);
        const [p, q] = await s.admin.roomSummaries("conformance.test" as ServerName);
        assert.equal(p!.roomId, ROOM_P);
        assert.deepEqual({ ...p!, state: undefined }, { roomId: ROOM_P, roomVersion: "10", creator: u("alice"), joinedMembers: 2, joinedLocalMembers: 1, stateEvents: 4, published: false, blocked: true, state: undefined });
        assert.deepEqual(p!.state.get("m.room.name"), { name: "Room p" });
        assert.deepEqual([...p!.state.keys()].sort(), ["m.room.create", "m.room.name"], "member events are not among the shown contents");
        assert.equal(q!.published, true);
        assert.equal(q!.blocked, false);
        assert.equal((await s.admin.roomSummaries("elsewhere.test" as ServerName))[0]!.joinedLocalMembers, 1, "the remote member is local to its own server");
        const rooms = await s.admin.roomsOfServer("elsewhere.test" as ServerName);
        assert.deepEqual(rooms.map((r) => r.roomId), [ROOM_P, ROOM_Q]);
        assert.ok(rooms[1]!.streamOrdering > rooms[0]!.streamOrdering, "each room's newest ordering");
        assert.deepEqual(await s.admin.roomsOfServer("nobody.test" as ServerName), []);
        assert.deepEqual(await s.admin.roomsOfServer("elsewhere_test" as ServerName), [], "_ is no wildcard");
      });
    });

    it("blocks a room once (the first block is kept) and unblocks it; blocks outlive a purge", async () => {
      await withStorage(async (s) => {
        assert.equal(await s.admin.getRoomBlock(ROOM_P), null);
        await s.admin.blockRoom(ROOM_P, u("alice"), 5);
        await s.admin.blockRoom(ROOM_P, u("bob"), 6);
        assert.deepEqual(await s.admin.getRoomBlock(ROOM_P), { userId: u("alice"), ts: 5 });
        await s.admin.purgeRoom(ROOM_P);
        assert.deepEqual(await s.admin.getRoomBlock(ROOM_P), { userId: u("alice"), ts: 5 });
        assert.equal(await s.admin.unblockRoom(ROOM_P), true);
        assert.equal(await s.admin.unblockRoom(ROOM_P), false);
        assert.equal(await s.admin.getRoomBlock(ROOM_P), null);
        await s.admin.blockRoom(ROOM_Q, null, 7);
        assert.deepEqual(await s.admin.getRoomBlock(ROOM_Q), { userId: null, ts: 7 }, "a block by zion admin names no user");
      });
    });

    it("purges everything of one room in one go and leaves the other room, key backups and unknown rooms alone", async () => {
      await withStorage(async (s) => {
        const pIds = await seedRoom(s, ROOM_P, "p");
        const qIds = await seedRoom(s, ROOM_Q, "q");
        for (const [room, ids] of [[ROOM_P, pIds], [ROOM_Q, qIds]] as const) {
          const local = ids[ids.length - 1]!;
          await s.receipts.put({ roomId: room, receiptType: "m.read", userId: u("alice"), threadId: null, eventId: local, ts: 1 });
          await s.accountData.put(u("alice"), room, "m.tag", { tags: {} });
          await s.roomClient.createAlias({ alias: `#${room.slice(1, 2)}:conformance.test` as RoomAlias, roomId: room, creator: u("alice") }, 1);
          await s.roomClient.setPublished(room, true, 1);
          await s.roomClient.recordClientTxn({ userId: u("alice"), deviceId: "D", endpoint: "send", roomId: room, txnId: "t" }, local, 1);
          await s.roomClient.setForgotten(u("bob"), room, true);
        }
        const version = await s.keyBackup.createVersion(u("alice"), "m.megolm_backup.v1.curve25519-aes-sha2", { public_key: "k" });
        await s.keyBackup.putKeys(u("alice"), version, [{ roomId: ROOM_P, sessionId: "S", firstMessageIndex: 0, forwardedCount: 0, isVerified: false, sessionData: { ciphertext: "c" } }]);

        const report = await s.admin.purgeRoom(ROOM_P);
        for (const t of ["events", "rooms", "current_state_events", "current_memberships", "state_groups", "event_state_groups", "event_relations", "receipts", "account_data", "room_aliases", "room_directory", "client_transactions", "forgotten_rooms", "event_auth_chains"]) {
          assert.ok((report[t] ?? 0) > 0, `the report counts rows of ${t}: ${JSON.stringify(report)}`);
        }
        assert.equal(report["events"], pIds.length);

        assert.equal(await s.rooms.getRoom(ROOM_P), null);
        assert.equal((await s.rooms.getCurrentState(ROOM_P)).size, 0);
        assert.equal((await s.events.getPdus(pIds)).size, 0);
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM_P), []);
        assert.deepEqual(await s.rooms.getRoomsForUser(u("alice"), "join"), [ROOM_Q]);
        assert.deepEqual(await s.roomClient.getAliasesForRoom(ROOM_P), []);
        assert.deepEqual(await s.roomClient.getPublishedRooms(), [ROOM_Q]);
        assert.equal(await s.accountData.get(u("alice"), ROOM_P, "m.tag"), null);
        assert.equal(await s.roomClient.isForgotten(u("bob"), ROOM_P), false);
        assert.equal((await s.relations.getRelations(ROOM_P, pIds[4]!, { direction: "b", limit: 10, depth: 1 })).events.length, 0);

        assert.ok(await s.rooms.getRoom(ROOM_Q));
        assert.equal((await s.rooms.getCurrentState(ROOM_Q)).size, 4);
        assert.equal((await s.events.getPdus(qIds)).size, qIds.length);
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM_Q), [qIds[qIds.length - 1]]);
        assert.deepEqual(await s.accountData.get(u("alice"), ROOM_Q, "m.tag"), { tags: {} });
        assert.equal(await s.roomClient.isForgotten(u("bob"), ROOM_Q), true);
        assert.equal((await s.relations.getRelations(ROOM_Q, qIds[4]!, { direction: "b", limit: 10, depth: 1 })).events.length, 1);
        const chain = await s.events.getAuthChainIds([qIds[qIds.length - 1]!]);
        assert.ok(chain.size >= 2, "the other room's auth chain index is intact");
        assert.equal((await s.keyBackup.getVersion(u("alice"), version))?.version, version, "key backups are the user's, not the room's");

        assert.deepEqual(await s.admin.purgeRoom("!unknown:conformance.test" as RoomId), {});
        assert.deepEqual(await s.admin.purgeRoom(ROOM_P), {}, "a second purge finds nothing");
      });
    });
  });
}

const ROOM_P = "!p:conformance.test" as RoomId;
const ROOM_Q = "!q:conformance.test" as RoomId;

/**
 * A v10 room with a create event, alice's join, a remote member's join, a name, then a message and a reaction to it
 * (so relations, auth chains and state groups all hold rows). Returns the event ids in order.
 */
async function seedRoom(s: Storage, room: RoomId, tag: string): Promise<EventId[]> {
  const bob = "@bob:elsewhere.test" as UserId;
  const specs: { id: string; type: string; stateKey?: string; sender?: UserId; content: JsonObject; auth: string[] }[] = [
    { id: `${tag}create`, type: "m.room.create", stateKey: "", content: { creator: u("alice"), room_version: "10" }, auth: [] },
    { id: `${tag}join`, type: "m.room.member", stateKey: u("alice"), content: { membership: "join" }, auth: [`${tag}create`] },
    { id: `${tag}bob`, type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" }, auth: [`${tag}create`] },
    { id: `${tag}name`, type: "m.room.name", stateKey: "", content: { name: `Room ${tag}` }, auth: [`${tag}create`, `${tag}join`] },
    { id: `${tag}msg`, type: "m.room.message", content: { body: "hi", msgtype: "m.text" }, auth: [`${tag}create`, `${tag}join`] },
    { id: `${tag}react`, type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: eid(`${tag}msg`), key: "x" } }, auth: [`${tag}create`, `${tag}join`] },
  ];
  const events: EventToPersist[] = [];
  const state = new Map<ReturnType<typeof stateKeyOf>, EventId>();
  let prev: string | undefined;
  for (const [i, sp] of specs.entries()) {
    const p = pdu({ id: sp.id, room, type: sp.type, ...(sp.stateKey !== undefined ? { stateKey: sp.stateKey } : {}), sender: sp.sender ?? u("alice"), content: sp.content, auth: sp.auth, prev: prev ? [prev] : [], depth: i + 1 });
    events.push({ pdu: p, stateBefore: { state: new Map(state) } });
    if (sp.stateKey !== undefined) state.set(stateKeyOf(sp.type, sp.stateKey), p.eventId);
    prev = sp.id;
  }
  await s.events.persistEvents({
    events,
    rooms: [{ roomId: room, roomVersion: "10", creator: u("alice") }],
    state: [{ roomId: room, set: state }],
    receivedTs: 1,
    outbound: { destinations: ["elsewhere.test" as ServerName], eventIds: events.map((e) => e.pdu.eventId) },
  });
  return events.map((e) => e.pdu.eventId);
}
