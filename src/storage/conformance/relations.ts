/**
 * Conformance for RelationStore (migration 0011): the relations index and threads derived from persisted PDUs,
 * redactions derived the same way, and events by timestamp. Called from suite.ts for every backend.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { EventToPersist, Storage } from "../ports.js";
import { ALICE, BOB, OTHER_ROOM, ROOM, eid, pdu, type PduSpec } from "./fixtures.js";

const rel = (relType: string, target: string, extra: JsonObject = {}): JsonObject => ({ body: "x", "m.relates_to": { rel_type: relType, event_id: eid(target), ...extra } });

/** A linear chain of events, each citing the one before, depth rising. */
function chain(specs: readonly (PduSpec & { flags?: Omit<EventToPersist, "pdu"> })[]): EventToPersist[] {
  return specs.map((s, i) => ({ pdu: pdu({ depth: i + 1, prev: i === 0 ? [] : [specs[i - 1]!.id], ...s }), ...(s.flags ?? {}) }));
}

const ids = (events: readonly { pdu: { eventId: EventId } }[]): EventId[] => events.map((e) => e.pdu.eventId);

export function relationConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("RelationStore", () => {
    it("indexes m.relates_to of persisted events: direct children by rel_type and event type, both directions, paged", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "root" },
            { id: "t1", content: rel("m.thread", "root") },
            { id: "a1", type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: eid("root"), key: "👍" } } },
            { id: "t2", content: rel("m.thread", "root") },
            { id: "ref", content: rel("m.reference", "root") },
            { id: "t3", content: rel("m.thread", "root") },
            { id: "plain" },
            { id: "bad", content: { "m.relates_to": { rel_type: "m.thread" } } },
            { id: "rejected", content: rel("m.thread", "root"), flags: { rejectionReason: "auth" } },
            { id: "soft", content: rel("m.thread", "root"), flags: { softFailed: true } },
          ]),
        });
        const all = await s.relations.getRelations(ROOM, eid("root"), { direction: "b", limit: 10, depth: 1 });
        assert.deepEqual(ids(all.events), [eid("t3"), eid("ref"), eid("t2"), eid("a1"), eid("t1")], "newest first; rejected, soft-failed and malformed left out");
        assert.equal(all.next, null, "a page that is not full has no next");
        const room = ROOM;
        const threads = await s.relations.getRelations(room, eid("root"), { relType: "m.thread", direction: "f", limit: 2, depth: 1 });
        assert.deepEqual(ids(threads.events), [eid("t1"), eid("t2")]);
        assert.ok(threads.next);
        const rest = await s.relations.getRelations(room, eid("root"), { relType: "m.thread", direction: "f", limit: 2, depth: 1, from: threads.next });
        assert.deepEqual(ids(rest.events), [eid("t3")]);
        const exact = await s.relations.getRelations(room, eid("root"), { relType: "m.thread", direction: "f", limit: 3, depth: 1 });
        assert.equal(exact.events.length, 3);
        assert.equal(exact.next, null, "a full page that holds the last event has no next");
        const reactions = await s.relations.getRelations(room, eid("root"), { relType: "m.annotation", eventType: "m.reaction", direction: "b", limit: 10, depth: 1 });
        assert.deepEqual(ids(reactions.events), [eid("a1")]);
        assert.deepEqual(ids((await s.relations.getRelations(room, eid("root"), { relType: "m.annotation", eventType: "m.room.message", direction: "b", limit: 10, depth: 1 })).events), []);
        assert.deepEqual(ids((await s.relations.getRelations(OTHER_ROOM, eid("root"), { direction: "b", limit: 10, depth: 1 })).events), [], "another room's id asks nothing of this room");
        const upTo = await s.relations.getRelations(room, eid("root"), { direction: "b", limit: 10, depth: 1, to: (await s.events.getRoomPosition(eid("t2")))! });
        assert.deepEqual(ids(upTo.events), [eid("t3"), eid("ref")], "`to` is excluded");
      });
    });

    it("recurses to the depth asked, applying the filters to the events reached", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "root" },
            { id: "c1", content: rel("m.thread", "root") },
            { id: "c2", content: rel("m.reference", "c1") },
            { id: "c3", type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: eid("c2"), key: "x" } } },
            { id: "c4", content: rel("m.reference", "c3") },
          ]),
        });
        const room = ROOM;
        const at = async (depth: number, extra: { relType?: string; eventType?: string } = {}) => ids((await s.relations.getRelations(room, eid("root"), { direction: "f", limit: 10, depth, ...extra })).events);
        assert.deepEqual(await at(1), [eid("c1")]);
        assert.deepEqual(await at(3), [eid("c1"), eid("c2"), eid("c3")]);
        assert.deepEqual(await at(3, { relType: "m.reference" }), [eid("c2")]);
        assert.deepEqual(await at(3, { eventType: "m.reaction" }), [eid("c3")]);
      });
    });

    it("tracks threads by their latest event, lists them most recently active first, filters participation and summarises them", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "r1", sender: ALICE },
            { id: "r2", sender: BOB },
            { id: "r3", sender: BOB },
            { id: "r1a", sender: BOB, content: rel("m.thread", "r1") },
            { id: "r2a", sender: BOB, content: rel("m.thread", "r2") },
            { id: "r3a", sender: ALICE, content: rel("m.thread", "r3") },
            { id: "r1b", sender: BOB, content: rel("m.thread", "r1") },
          ]),
        });
        const room = ROOM;
        const page1 = await s.relations.getThreads(room, { limit: 2 });
        assert.deepEqual(page1.roots, [eid("r1"), eid("r3")]);
        assert.ok(page1.next);
        const page2 = await s.relations.getThreads(room, { limit: 2, from: page1.next });
        assert.deepEqual(page2.roots, [eid("r2")]);
        assert.equal(page2.next, null);
        assert.equal((await s.relations.getThreads(room, { limit: 3 })).next, null, "a full page with the last thread has no next");
        assert.deepEqual((await s.relations.getThreads(room, { limit: 10, participant: ALICE })).roots, [eid("r1"), eid("r3")], "ALICE started r1 and wrote in r3");
        assert.deepEqual((await s.relations.getThreads(room, { limit: 10, participant: BOB })).roots, [eid("r1"), eid("r3"), eid("r2")]);
        const sums = await s.relations.getThreadSummaries([eid("r1"), eid("r2"), eid("r3"), eid("r1a")], ALICE, 1);
        assert.deepEqual(sums.get(eid("r1")), { count: 2, latest: [eid("r1b")], participated: true });
        assert.deepEqual(sums.get(eid("r2")), { count: 1, latest: [eid("r2a")], participated: false });
        assert.deepEqual(sums.get(eid("r3")), { count: 1, latest: [eid("r3a")], participated: true });
        assert.equal(sums.has(eid("r1a")), false, "an event with no thread has no summary");
        // A thread event backfilled from before keeps the thread's latest.
        await s.events.persistEvents({ receivedTs: 2, events: [{ pdu: pdu({ id: "old", depth: 1, content: rel("m.thread", "r2") }), backfilled: true }] });
        assert.deepEqual((await s.relations.getThreads(room, { limit: 10 })).roots, [eid("r1"), eid("r3"), eid("r2")]);
        assert.deepEqual((await s.relations.getThreadSummaries([eid("r2")], BOB, 5)).get(eid("r2")), { count: 2, latest: [eid("r2a"), eid("old")], participated: true });
      });
    });

    it("derives redactions from persisted m.room.redaction events, and a redacted event leaves the relations index", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "root" },
            { id: "edit", content: { ...rel("m.replace", "root"), "m.new_content": { body: "y" } } },
            { id: "edit2", content: { ...rel("m.replace", "root"), "m.new_content": { body: "z" } } },
          ]),
        });
        assert.deepEqual([...(await s.relations.getReplacements([eid("root"), eid("edit")]))], [[eid("root"), [eid("edit"), eid("edit2")]]]);
        await s.events.persistEvents({ receivedTs: 2, events: [{ pdu: pdu({ id: "red", type: "m.room.redaction", redacts: "edit", content: {}, depth: 4, prev: ["edit2"] }) }] });
        assert.deepEqual([...(await s.roomClient.getRedactions([eid("edit")]))], [[eid("edit"), eid("red")]]);
        assert.deepEqual([...(await s.relations.getReplacements([eid("root")]))], [[eid("root"), [eid("edit2")]]]);
        // A rejected redaction redacts nothing.
        await s.events.persistEvents({ receivedTs: 3, events: [{ pdu: pdu({ id: "red2", type: "m.room.redaction", redacts: "edit2", content: {}, depth: 5, prev: ["red"] }), rejectionReason: "auth" }] });
        assert.deepEqual([...(await s.roomClient.getRedactions([eid("edit2")]))], []);
      });
    });

    it("finds the timeline events nearest a timestamp in either direction", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "e100", ts: 100 },
            { id: "e200", ts: 200 },
            { id: "o250", ts: 250, flags: { outlier: true } },
            { id: "e300", ts: 300 },
          ]),
        });
        const room = ROOM;
        assert.deepEqual((await s.relations.getEventsNearTimestamp(room, 200, "f", 5)).map((e) => e.eventId), [eid("e200"), eid("e300")]);
        assert.deepEqual((await s.relations.getEventsNearTimestamp(room, 299, "b", 1)), [{ eventId: eid("e200"), originServerTs: 200 }]);
        assert.deepEqual((await s.relations.getEventsNearTimestamp(room, 301, "f", 5)), []);
        assert.deepEqual((await s.relations.getEventsNearTimestamp(OTHER_ROOM, 200, "b", 5)), []);
      });
    });
  });
}
