/** Conformance for RoomClientStore (migration 0005): aliases, the published directory, client txn ids, redactions, forgotten rooms. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomAlias, RoomId, UserId } from "../../core/ids/index.js";
import { UniqueViolationError, type ClientTxnKey, type Storage } from "../ports.js";
import { eid, pdu } from "./fixtures.js";

const ROOM_A = "!a:conformance.test" as RoomId;
const ROOM_B = "!b:conformance.test" as RoomId;
const USER = "@u:conformance.test" as UserId;
const ALIAS = "#lobby:conformance.test" as RoomAlias;

export function roomClientConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("RoomClientStore", () => {
    it("creates, reads, lists and deletes aliases; a taken alias is a UniqueViolationError naming the room alias and changes nothing", async () => {
      await withStorage(async (s) => {
        await s.roomClient.createAlias({ alias: ALIAS, roomId: ROOM_A, creator: USER }, 1);
        await assert.rejects(s.roomClient.createAlias({ alias: ALIAS, roomId: ROOM_B, creator: USER }, 2), (e: unknown) => e instanceof UniqueViolationError && e.what === "room alias");
        assert.deepEqual(await s.roomClient.getAlias(ALIAS), { alias: ALIAS, roomId: ROOM_A, creator: USER });
        await s.roomClient.createAlias({ alias: "#a2:conformance.test" as RoomAlias, roomId: ROOM_A, creator: USER }, 3);
        assert.deepEqual(await s.roomClient.getAliasesForRoom(ROOM_A), ["#a2:conformance.test", ALIAS]);
        assert.equal(await s.roomClient.deleteAlias(ALIAS), true);
        assert.equal(await s.roomClient.deleteAlias(ALIAS), false);
        assert.equal(await s.roomClient.getAlias(ALIAS), null);
      });
    });

    it("publishes and withdraws rooms, listed by room id", async () => {
      await withStorage(async (s) => {
        await s.roomClient.setPublished(ROOM_B, true, 1);
        await s.roomClient.setPublished(ROOM_A, true, 2);
        await s.roomClient.setPublished(ROOM_A, true, 3);
        assert.deepEqual(await s.roomClient.getPublishedRooms(), [ROOM_A, ROOM_B]);
        await s.roomClient.setPublished(ROOM_B, false, 4);
        assert.equal(await s.roomClient.isPublished(ROOM_B), false);
        assert.deepEqual(await s.roomClient.getPublishedRooms(), [ROOM_A]);
      });
    });

    it("keeps the first event of a client transaction; the key includes device, endpoint and room", async () => {
      await withStorage(async (s) => {
        const key: ClientTxnKey = { userId: USER, deviceId: "D", endpoint: "send", roomId: ROOM_A, txnId: "t1" };
        assert.equal(await s.roomClient.getClientTxn(key), null);
        assert.equal(await s.roomClient.recordClientTxn(key, "$first" as EventId, 1), "$first");
        assert.equal(await s.roomClient.recordClientTxn(key, "$second" as EventId, 2), "$first", "a later record keeps the first");
        assert.equal(await s.roomClient.getClientTxn({ ...key, deviceId: "E" }), null);
        assert.equal(await s.roomClient.getClientTxn({ ...key, endpoint: "redact" }), null);
        assert.equal(await s.roomClient.getClientTxn({ ...key, roomId: ROOM_B }), null);
      });
    });

    it("records a persist batch's client transaction in the batch's own transaction", async () => {
      await withStorage(async (s) => {
        const key: ClientTxnKey = { userId: USER, deviceId: "D", endpoint: "send", roomId: ROOM_A, txnId: "in-batch" };
        const first = pdu({ id: "txn-first", room: ROOM_A });
        await s.events.persistEvents({ events: [{ pdu: first }], receivedTs: 1, clientTxn: { key, eventId: first.eventId } });
        assert.equal(await s.roomClient.getClientTxn(key), first.eventId);
        assert.deepEqual(await s.events.haveEvents([first.eventId]), new Set([first.eventId]));
      });
    });

    it("records every client transaction of a batch of several sends (clientTxns), and refuses the whole batch when one key is recorded already", async () => {
      await withStorage(async (s) => {
        const key = (txnId: string): ClientTxnKey => ({ userId: USER, deviceId: "D", endpoint: "send", roomId: ROOM_A, txnId });
        const a = pdu({ id: "many-a", room: ROOM_A });
        const b = pdu({ id: "many-b", room: ROOM_A, prev: ["many-a"], depth: 2 });
        await s.events.persistEvents({ events: [{ pdu: a }, { pdu: b }], receivedTs: 1, clientTxns: [{ key: key("m1"), eventId: a.eventId }, { key: key("m2"), eventId: b.eventId }] });
        assert.equal(await s.roomClient.getClientTxn(key("m1")), a.eventId);
        assert.equal(await s.roomClient.getClientTxn(key("m2")), b.eventId);
        const c = pdu({ id: "many-c", room: ROOM_A, prev: ["many-b"], depth: 3 });
        const d = pdu({ id: "many-d", room: ROOM_A, prev: ["many-c"], depth: 4 });
        await assert.rejects(
          s.events.persistEvents({ events: [{ pdu: c }, { pdu: d }], receivedTs: 2, clientTxns: [{ key: key("m3"), eventId: c.eventId }, { key: key("m2"), eventId: d.eventId }] }),
          (e: unknown) => e instanceof UniqueViolationError && e.what === "client transaction",
        );
        assert.equal(await s.roomClient.getClientTxn(key("m3")), null, "the new key of the refused batch is not recorded");
        assert.deepEqual(await s.events.haveEvents([c.eventId, d.eventId]), new Set());
      });
    });

    it("writes neither the event nor the txn record of a batch that fails, and a batch whose txn is recorded already writes nothing", async () => {
      await withStorage(async (s) => {
        const key: ClientTxnKey = { userId: USER, deviceId: "D", endpoint: "send", roomId: ROOM_A, txnId: "atomic" };
        // The event is fine, the batch breaks later (a state entry of an unknown room's event whose state is not stored).
        const ok = pdu({ id: "txn-ok", room: ROOM_A });
        const broken = pdu({ id: "txn-broken", room: ROOM_A, prev: ["txn-ok"], depth: 2 });
        await assert.rejects(
          s.events.persistEvents({ events: [{ pdu: ok }, { pdu: broken, stateBefore: { after: eid("never-stored") } }], receivedTs: 1, clientTxn: { key, eventId: ok.eventId } }),
        );
        assert.equal(await s.roomClient.getClientTxn(key), null, "no txn record without its event");
        assert.deepEqual(await s.events.haveEvents([ok.eventId, broken.eventId]), new Set(), "no event without its txn record");
        // A key recorded already: the second batch is refused whole.
        await s.events.persistEvents({ events: [{ pdu: ok }], receivedTs: 2, clientTxn: { key, eventId: ok.eventId } });
        const second = pdu({ id: "txn-second", room: ROOM_A, prev: ["txn-ok"], depth: 2 });
        await assert.rejects(
          s.events.persistEvents({ events: [{ pdu: second }], receivedTs: 3, clientTxn: { key, eventId: second.eventId } }),
          (e: unknown) => e instanceof UniqueViolationError && e.what === "client transaction",
        );
        assert.equal(await s.roomClient.getClientTxn(key), ok.eventId);
        assert.deepEqual(await s.events.haveEvents([second.eventId]), new Set());
      });
    });

    it("finds the txn ids one device created a page of events with, leaving out other devices', users' and unknown events", async () => {
      await withStorage(async (s) => {
        const key = (txnId: string, over: Partial<ClientTxnKey> = {}): ClientTxnKey => ({ userId: USER, deviceId: "D", endpoint: "send", roomId: ROOM_A, txnId, ...over });
        const a = pdu({ id: "ids-a", room: ROOM_A });
        const b = pdu({ id: "ids-b", room: ROOM_A, prev: ["ids-a"], depth: 2 });
        await s.events.persistEvents({ events: [{ pdu: a }, { pdu: b }], receivedTs: 1, clientTxns: [{ key: key("ta"), eventId: a.eventId }, { key: key("tb", { endpoint: "redact" }), eventId: b.eventId }] });
        await s.roomClient.recordClientTxn(key("other-device", { deviceId: "E" }), "$on-e" as EventId, 2);
        await s.roomClient.recordClientTxn(key("other-user", { userId: "@v:conformance.test" as UserId }), "$on-v" as EventId, 3);
        // Many events, more than one query's worth: the answer is the same.
        const many = [a.eventId, b.eventId, "$on-e", "$on-v", "$unknown", ...Array.from({ length: 450 }, (_, i) => `$filler-${i}`)] as EventId[];
        assert.deepEqual(new Map(await s.roomClient.getClientTxnIds(USER, "D", many)), new Map([[a.eventId, "ta"], [b.eventId, "tb"]]));
        assert.deepEqual([...(await s.roomClient.getClientTxnIds(USER, "E", many))], [["$on-e", "other-device"]]);
        assert.deepEqual([...(await s.roomClient.getClientTxnIds(USER, "D", []))], []);
      });
    });

    it("records redactions (the first by id is reported) and forgotten rooms", async () => {
      await withStorage(async (s) => {
        await s.roomClient.recordRedaction("$target" as EventId, "$r2" as EventId);
        await s.roomClient.recordRedaction("$target" as EventId, "$r1" as EventId);
        await s.roomClient.recordRedaction("$target" as EventId, "$r1" as EventId);
        assert.deepEqual([...(await s.roomClient.getRedactions(["$target", "$other"] as EventId[]))], [["$target", "$r1"]]);
        await s.roomClient.setForgotten(USER, ROOM_A, true);
        assert.equal(await s.roomClient.isForgotten(USER, ROOM_A), true);
        await s.roomClient.setForgotten(USER, ROOM_A, false);
        assert.equal(await s.roomClient.isForgotten(USER, ROOM_A), false);
      });
    });

    it("counts and lists current members by membership (rooms without members count 0)", async () => {
      await withStorage(async (s) => {
        assert.deepEqual([...(await s.roomClient.countRoomMembers([ROOM_A], "join"))], [[ROOM_A, 0]]);
        assert.deepEqual(await s.roomClient.getRoomMembers(ROOM_A, "join"), []);
      });
    });
  });
}
