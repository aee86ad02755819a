/** OutboundStore conformance (migration 0007): the federation sender's queue, on every backend. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerName } from "../../core/ids/index.js";
import { ConstraintViolationError, type PersistBatch, type Storage } from "../ports.js";
import type { ConformanceDatabase } from "./suite.js";
import { OTHER_ROOM, ROOM, eid, pdu, type PduSpec } from "./fixtures.js";

const NOW = 1_700_000_000_000;
const HS2 = "hs2.test" as ServerName;
const HS3 = "hs3.test" as ServerName;
const LIMITS = { maxPdus: 50, maxEdus: 100 };

function batch(specs: readonly PduSpec[], destinations: readonly ServerName[]): PersistBatch {
  return { events: specs.map((s) => ({ pdu: pdu(s) })), receivedTs: NOW, outbound: { destinations, eventIds: specs.map((s) => eid(s.id)) } };
}

const chain = (prefix: string, n: number, room = ROOM, from?: string): PduSpec[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, room, prev: i === 0 ? (from ? [from] : []) : [`${prefix}${i - 1}`], depth: i + 1 }));

export function outboundConformance(
  withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>,
  fresh: () => Promise<ConformanceDatabase>,
  reopenSkip: { skip?: string },
): void {
  describe("OutboundStore (federation sender queue)", () => {
    it("queues each new timeline event for every destination in the events' transaction, and never an event stored already", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch(chain("a", 3), [HS2, HS3]));
        assert.equal(await s.outbound.queuedPduCount(HS2), 3);
        assert.equal(await s.outbound.queuedPduCount(HS3), 3);
        await s.events.persistEvents(batch(chain("a", 3), [HS2])); // the same events again
        assert.equal(await s.outbound.queuedPduCount(HS2), 3, "an event stored already is not queued twice");
        assert.deepEqual(await s.outbound.destinationsWithQueue(), [HS2, HS3]);
      });
    });

    it("writes neither the event nor its queue rows when the enqueue fails (one transaction)", async () => {
      await withStorage(async (s) => {
        const bad = { ...batch([{ id: "x" }], [HS2, null as unknown as ServerName]) };
        await assert.rejects(s.events.persistEvents(bad), (e: unknown) => e instanceof ConstraintViolationError);
        assert.deepEqual(await s.events.haveEvents([eid("x")]), new Set(), "the event rolled back with its queue rows");
        assert.equal(await s.outbound.queuedPduCount(HS2), 0);
      });
    });

    it("builds transactions within the limits, oldest first, and returns the same id and contents until completed", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch(chain("m", 5), [HS2]));
        for (let i = 0; i < 3; i++) await s.outbound.enqueueEdus([HS2], { edu_type: "m.typing", content: { i } });
        const t1 = await s.outbound.nextTransaction(HS2, { maxPdus: 2, maxEdus: 2 }, NOW);
        assert.ok(t1);
        assert.deepEqual(t1.pdus.map((p) => p.eventId), [eid("m0"), eid("m1")]);
        assert.equal(t1.pdus[0]!.json["room_id"], ROOM);
        assert.deepEqual(t1.edus.map((e) => (e["content"] as { i: number }).i), [0, 1]);
        const again = await s.outbound.nextTransaction(HS2, { maxPdus: 2, maxEdus: 2 }, NOW + 5000);
        assert.deepEqual(again, t1, "one transaction in flight: the retry is identical, origin_server_ts included");
        assert.equal(await s.outbound.queuedPduCount(HS2), 3);
        await s.outbound.completeTransaction(HS2, t1.txnId, NOW + 6000);
        const t2 = await s.outbound.nextTransaction(HS2, { maxPdus: 2, maxEdus: 2 }, NOW + 7000);
        assert.ok(t2);
        assert.notEqual(t2.txnId, t1.txnId);
        assert.deepEqual(t2.pdus.map((p) => p.eventId), [eid("m2"), eid("m3")]);
        assert.deepEqual(t2.edus.map((e) => (e["content"] as { i: number }).i), [2]);
        const dest = (await s.outbound.listDestinations()).find((d) => d.destination === HS2)!;
        assert.equal(dest.lastSuccessTs, NOW + 6000);
        assert.equal(dest.lastSuccessfulStreamOrdering, t1.pdus[1]!.streamOrdering);
        assert.equal(dest.inFlightTxnId, t2.txnId);
      });
    });

    it("answers null when nothing is queued, and stores in-memory EDUs with the transaction they join", async () => {
      await withStorage(async (s) => {
        assert.equal(await s.outbound.nextTransaction(HS2, LIMITS, NOW), null);
        const t = await s.outbound.nextTransaction(HS2, LIMITS, NOW, [{ edu_type: "m.presence", content: { push: [] } }]);
        assert.ok(t);
        assert.equal(t.pdus.length, 0);
        assert.deepEqual(t.edus, [{ edu_type: "m.presence", content: { push: [] } }]);
        assert.deepEqual(await s.outbound.nextTransaction(HS2, LIMITS, NOW + 1), t);
      });
    });

    it("keeps the transaction across a restart", reopenSkip, async () => {
      const db = await fresh();
      let s = await db.open();
      let t1;
      try {
        await s.events.persistEvents(batch(chain("r", 3), [HS2]));
        t1 = await s.outbound.nextTransaction(HS2, LIMITS, NOW);
      } finally {
        await s.close();
      }
      s = await db.open();
      try {
        assert.deepEqual(await s.outbound.nextTransaction(HS2, LIMITS, NOW + 60_000), t1);
        assert.deepEqual(await s.outbound.destinationsWithQueue(), [HS2]);
      } finally {
        await s.close();
      }
    });

    it("catch-up keeps only the newest queued event of each room and the forward extremities, never a transaction's rows", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch(chain("a", 2), [HS2]));
        const inFlight = await s.outbound.nextTransaction(HS2, LIMITS, NOW);
        await s.events.persistEvents(batch(chain("b", 6, ROOM, "a1"), [HS2]));
        await s.events.persistEvents(batch(chain("o", 4, OTHER_ROOM), [HS2]));
        assert.equal(await s.outbound.queuedPduCount(HS2), 10);
        assert.equal(await s.outbound.keepOnlyNewestPerRoom(HS2), 8);
        assert.equal(await s.outbound.queuedPduCount(HS2), 2);
        assert.deepEqual(await s.outbound.nextTransaction(HS2, LIMITS, NOW), inFlight, "the transaction in flight is kept whole");
        await s.outbound.completeTransaction(HS2, inFlight!.txnId, NOW);
        const next = await s.outbound.nextTransaction(HS2, LIMITS, NOW);
        assert.deepEqual(next!.pdus.map((p) => p.eventId), [eid("b5"), eid("o3")]);
      });
    });

    it("records failures with their reason and lists every destination with its queue", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch(chain("a", 2), [HS2]));
        await s.outbound.enqueueEdus([HS3], { edu_type: "m.direct_to_device", content: {} });
        const f = await s.outbound.recordFailure(HS2, NOW, 2000, "connection refused");
        assert.equal(f.failureTs, NOW);
        await s.outbound.recordFailure(HS2, NOW + 2000, 4000, "500 M_UNKNOWN");
        const list = await s.outbound.listDestinations();
        assert.deepEqual(list.map((d) => [d.destination, d.queuedPdus, d.queuedEdus, d.failureTs, d.retryIntervalMs, d.lastError]), [
          [HS2, 2, 0, NOW, 4000, "500 M_UNKNOWN"],
          [HS3, 0, 1, null, 0, null],
        ]);
      });
    });
  });
}
