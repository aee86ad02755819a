/**
 * The rooms part of the conformance suite: state groups, the auth-chain
 * index, topological and stream orders, soft failure, the current-state and
 * membership streams, and the committed position under concurrent writers.
 * Called from suite.ts for every backend.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../core/events/pdu.js";
import { authChainUnion as coreAuthChain, authDifference as coreAuthDifference, mapSource } from "../../core/state-res/index.js";
import { runNow } from "../../core/generator.js";
import { ConstraintViolationError, type EventToPersist, type PersistBatch, type Storage, type StreamOrdering } from "../ports.js";
import { ALICE, BOB, OTHER_ROOM, ROOM, eid, pdu, type PduSpec } from "./fixtures.js";
import type { ConformanceDatabase } from "./suite.js";

const NOW = 1_700_000_000_000;

function batch(events: readonly EventToPersist[], extra: Partial<PersistBatch> = {}): PersistBatch {
  return { events, receivedTs: NOW, ...extra };
}

const ev = (spec: PduSpec, rest: Omit<EventToPersist, "pdu"> = {}): EventToPersist => ({ pdu: pdu(spec), ...rest });

/** A small seeded generator (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sk = (type: string, key = ""): StateKey => stateKeyOf(type, key);

export function roomConformance(
  withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>,
  fresh: () => Promise<ConformanceDatabase>,
  reopenSkip: { skip?: string },
): void {
  describe("StateStore (state groups)", () => {
    it("stores the state before and after each event, one group shared by a run of messages", async () => {
      await withStorage(async (s) => {
        const r = await s.events.persistEvents(batch([
          ev({ id: "create", type: "m.room.create", stateKey: "" }, { stateBefore: { state: new Map() } }),
          ev({ id: "join", type: "m.room.member", stateKey: ALICE, content: { membership: "join" }, prev: ["create"], depth: 2 }, { stateBefore: { after: eid("create") } }),
          ev({ id: "m1", prev: ["join"], depth: 3 }, { stateBefore: { after: eid("join") } }),
          ev({ id: "m2", prev: ["m1"], depth: 4 }, { stateBefore: { after: eid("m1") } }),
          ev({ id: "name", type: "m.room.name", stateKey: "", prev: ["m2"], depth: 5 }, { stateBefore: { after: eid("m2") } }),
        ]));
        const g = (id: string) => r.stateGroups.get(eid(id))!;
        assert.equal(g("m1").before, g("join").after, "a message's state before is the previous event's state after");
        assert.equal(g("m1").after, g("m1").before, "a message changes no state");
        assert.equal(g("m2").before, g("m1").after, "a run of messages shares one group");
        assert.notEqual(g("name").after, g("name").before);
        assert.deepEqual(await s.state.getStateAtEvent(eid("create"), "before"), new Map());
        assert.deepEqual(await s.state.getStateAtEvent(eid("create"), "after"), new Map([[sk("m.room.create"), eid("create")]]));
        const full = new Map([[sk("m.room.create"), eid("create")], [sk("m.room.member", ALICE), eid("join")]]);
        assert.deepEqual(await s.state.getStateAtEvent(eid("m2")), full);
        assert.deepEqual(await s.state.getStateAtEvent(eid("name"), "after"), new Map([...full, [sk("m.room.name"), eid("name")]]));
        assert.deepEqual(await s.state.getEventStateGroups(eid("m1")), g("m1"));
        assert.equal(await s.state.getStateEventAt(eid("name"), "m.room.member", ALICE), eid("join"));
        assert.equal(await s.state.getStateEventAt(eid("name"), "m.room.name", ""), null, "before the name event, no name");
        assert.equal(await s.state.getStateEventAt(eid("name"), "m.room.name", "", "after"), eid("name"));
        assert.equal(await s.state.getStateAtEvent(eid("nope")), null);
      });
    });

    it("answers some state entries at many events in one call, the same as the whole state at each (long lineages, a removed key)", async () => {
      await withStorage(async (s) => {
        const events: EventToPersist[] = [ev({ id: "create", type: "m.room.create", stateKey: "" }, { stateBefore: { state: new Map() } })];
        let prev = "create";
        for (let i = 1; i <= 40; i++) {
          const id = `e${i}`;
          const spec: PduSpec =
            i % 3 === 0 ? { id, type: "m.room.history_visibility", stateKey: "", content: { history_visibility: i % 2 ? "joined" : "shared" }, prev: [prev], depth: i + 1 }
            : i % 3 === 1 ? { id, type: "m.room.member", stateKey: i % 2 ? ALICE : BOB, content: { membership: "join" }, prev: [prev], depth: i + 1 }
            : { id, prev: [prev], depth: i + 1 };
          events.push(ev(spec, { stateBefore: { after: eid(prev) } }));
          prev = id;
        }
        await s.events.persistEvents(batch(events));
        // A resolved state that drops BOB's membership (a removal in the delta).
        const last = (await s.state.getStateAtEvent(eid(prev), "after"))!;
        const dropped = new Map([...last].filter(([k]) => k !== sk("m.room.member", BOB)));
        await s.events.persistEvents(batch([ev({ id: "after-drop", prev: [prev], depth: 50 }, { stateBefore: { state: dropped, base: { after: eid(prev) } } })]));
        const ids = [...events.map((e) => e.pdu.eventId), eid("after-drop"), eid("unknown")];
        const keys = [sk("m.room.history_visibility"), sk("m.room.member", ALICE), sk("m.room.member", BOB), sk("m.room.topic")];
        for (const when of ["before", "after"] as const) {
          const got = await s.state.getStateEntriesAt(ids, keys, when);
          assert.equal(got.has(eid("unknown")), false, "an event without a state is left out");
          for (const id of ids.slice(0, -1)) {
            const whole = (await s.state.getStateAtEvent(id, when))!;
            const expected = new Map(keys.filter((k) => whole.has(k)).map((k) => [k, whole.get(k)!]));
            assert.deepEqual(got.get(id), expected, `${when} ${id}`);
          }
        }
        const atDrop = (await s.state.getStateEntriesAt([eid("after-drop")], keys)).get(eid("after-drop"))!;
        assert.equal(atDrop.has(sk("m.room.member", BOB)), false, "a removed key is absent");
        assert.equal(atDrop.get(sk("m.room.member", ALICE)), eid("e37"));
        assert.deepEqual(await s.state.getStateEntriesAt([], keys), new Map());
        assert.deepEqual(await s.state.getStateEntriesAt([eid("e5")], []), new Map([[eid("e5"), new Map()]]));
      });
    });

    it("answers state entries for more keys than one SQL expression may hold (1,050 members, each its own key)", async () => {
      await withStorage(async (s) => {
        const events: EventToPersist[] = [ev({ id: "create", type: "m.room.create", stateKey: "" }, { stateBefore: { state: new Map() } })];
        let prev = "create";
        const users = Array.from({ length: 1050 }, (_, i) => `@u${i}:zion.test`);
        for (const [i, u] of users.entries()) {
          const id = `join-${i}`;
          events.push(ev({ id, type: "m.room.member", stateKey: u, content: { membership: "join" }, prev: [prev], depth: i + 2 }, { stateBefore: { after: eid(prev) } }));
          prev = id;
        }
        events.push(ev({ id: "after-joins", prev: [prev], depth: 1100 }, { stateBefore: { after: eid(prev) } }));
        await s.events.persistEvents(batch(events));
        const keys = [...users.map((u) => sk("m.room.member", u)), sk("m.room.create")];
        const got = (await s.state.getStateEntriesAt([eid("after-joins"), eid("join-100")], keys)).get(eid("after-joins"))!;
        assert.equal(got.size, 1051);
        assert.equal(got.get(sk("m.room.member", users[1049]!)), eid("join-1049"));
        const early = (await s.state.getStateEntriesAt([eid("join-100")], keys)).get(eid("join-100"))!;
        assert.equal(early.size, 101, "the state before join-100: the create event and 100 members");
        assert.equal(early.has(sk("m.room.member", users[100]!)), false);
      });
    });

    it("keeps a rejected state event out of the state after it", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev({ id: "create", type: "m.room.create", stateKey: "" }, { stateBefore: { state: new Map() } })]));
        const r = await s.events.persistEvents(batch([
          ev({ id: "bad", type: "m.room.name", stateKey: "", prev: ["create"], depth: 2 }, { stateBefore: { after: eid("create") }, rejectionReason: "auth rule 8" }),
        ]));
        assert.equal(r.stateGroups.get(eid("bad"))!.after, r.stateGroups.get(eid("bad"))!.before);
      });
    });

    it("stores a whole state against a base as a delta, and reuses the base group when they are equal", async () => {
      await withStorage(async (s) => {
        const r0 = await s.events.persistEvents(batch([ev({ id: "create", type: "m.room.create", stateKey: "" }, { stateBefore: { state: new Map() } })]));
        const base = r0.stateGroups.get(eid("create"))!.after;
        const same = new Map([[sk("m.room.create"), eid("create")]]);
        const r1 = await s.events.persistEvents(batch([ev({ id: "m", prev: ["create"], depth: 2 }, { stateBefore: { state: same, base: { group: base } } })]));
        assert.equal(r1.stateGroups.get(eid("m"))!.before, base, "an equal state is the same group");
        const resolved = new Map([[sk("m.room.create"), eid("create")], [sk("m.room.topic"), eid("t")]]);
        const r2 = await s.events.persistEvents(batch([ev({ id: "m2", prev: ["m"], depth: 3 }, { stateBefore: { state: resolved, base: { after: eid("m") } } })]));
        const g = r2.stateGroups.get(eid("m2"))!.before;
        assert.deepEqual(await s.state.getStateGroup(g), resolved);
        assert.deepEqual(await s.state.getStateGroupDelta(base, g), { set: new Map([[sk("m.room.topic"), eid("t")]]), remove: [] });
        assert.deepEqual(await s.state.getStateGroupDelta(g, base), { set: new Map(), remove: [sk("m.room.topic")] });
        const groups = await s.state.getStateGroups([base, g, 999_999]);
        assert.deepEqual(groups.get(base), same);
        assert.deepEqual(groups.get(999_999), new Map(), "an unknown group is empty");
      });
    });

    it("refuses a state naming an event whose state is not stored, writing nothing", async () => {
      await withStorage(async (s) => {
        const failing = s.events.persistEvents(batch([ev({ id: "ok" }), ev({ id: "m", prev: ["ok"] }, { stateBefore: { after: eid("unknown") } })]));
        await assert.rejects(failing, ConstraintViolationError);
        assert.deepEqual(await s.events.haveEvents([eid("ok"), eid("m")]), new Set());
      });
    });

    it("reads back exactly the state of every event of a seeded history of forks, sets and removals (seed 7)", async () => {
      await withStorage(async (s) => {
        const rand = rng(7);
        const model = new Map<EventId, Map<StateKey, EventId>>(); // state after each event
        const ids: EventId[] = [];
        const keys = Array.from({ length: 12 }, (_, i) => sk("k.type", `key${i}`));
        for (let round = 0; round < 6; round++) {
          const events: EventToPersist[] = [];
          for (let i = 0; i < 60; i++) {
            const id = `r${round}e${i}`;
            let input: EventToPersist["stateBefore"];
            let before: Map<StateKey, EventId>;
            const base = ids.length === 0 ? undefined : ids[Math.floor(rand() * ids.length)]!;
            if (base === undefined || rand() < 0.05) {
              before = new Map(keys.filter(() => rand() < 0.3).map((k) => [k, eid(`x${Math.floor(rand() * 5)}`)]));
              input = { state: before };
            } else if (rand() < 0.3) {
              const set = new Map(keys.filter(() => rand() < 0.2).map((k) => [k, eid(`y${round}-${i}`)]));
              const remove = keys.filter(() => rand() < 0.1);
              before = new Map(model.get(base)!);
              for (const k of remove) before.delete(k);
              for (const [k, v] of set) before.set(k, v);
              input = { after: base, delta: { set, remove } };
            } else if (rand() < 0.2) {
              before = new Map(model.get(base)!);
              if (rand() < 0.5) before.set(keys[0]!, eid(`z${i}`));
              else before.delete(keys[1]!);
              input = { state: before, base: { after: base } };
            } else {
              before = new Map(model.get(base)!);
              input = { after: base };
            }
            const isState = rand() < 0.6;
            const key = keys[Math.floor(rand() * keys.length)]!;
            const spec: PduSpec = isState ? { id, type: "k.type", stateKey: key.slice("k.type".length + 1) } : { id };
            const after = new Map(before);
            if (isState) after.set(key, eid(id));
            model.set(eid(id), after);
            ids.push(eid(id));
            events.push(ev(spec, { stateBefore: input }));
            model.set(eid(`${id}#before`), before);
          }
          await s.events.persistEvents(batch(events));
        }
        for (const id of ids) {
          assert.deepEqual(await s.state.getStateAtEvent(id, "after"), model.get(id), `state after ${id}`);
          assert.deepEqual(await s.state.getStateAtEvent(id, "before"), model.get(eid(`${id}#before`)), `state before ${id}`);
        }
      });
    });
  });

  describe("auth-chain index", () => {
    /** A seeded auth DAG: each event cites up to 4 earlier ones, like power levels, members and join rules. */
    function authDag(seed: number, n: number): Pdu[] {
      const rand = rng(seed);
      const out: Pdu[] = [];
      for (let i = 0; i < n; i++) {
        const auth = new Set<string>();
        if (i > 0) auth.add("a0");
        for (let k = 0; k < 3 && i > 1; k++) auth.add(`a${Math.floor(rand() * i)}`);
        if (i > 2 && rand() < 0.5) auth.add(`a${i - 1}`);
        out.push(pdu({ id: `a${i}`, auth: [...auth], depth: i + 1 }));
      }
      return out;
    }

    it("agrees with core's auth chains and auth difference on a seeded DAG written in shuffled batches (seed 11)", async () => {
      await withStorage(async (s) => {
        const dag = authDag(11, 300);
        const rand = rng(12);
        // Batches in DAG order, each shuffled inside (the store orders a batch by its auth edges).
        for (let b = 0; b < dag.length; b += 50) {
          const part = dag.slice(b, b + 50).sort(() => rand() - 0.5);
          await s.events.persistEvents(batch(part.map((p) => ({ pdu: p, outlier: rand() < 0.3 }))));
        }
        const src = mapSource(new Map(dag.map((p) => [p.eventId, p])));
        const ids = dag.map((p) => p.eventId);
        const chains = await s.events.getAuthChains(ids);
        for (const id of ids) assert.deepEqual(chains.get(id), runNow(coreAuthChain([id], src, "test")), `auth chain of ${id}`);
        const some = ids.filter(() => rand() < 0.1);
        assert.deepEqual(await s.events.getAuthChainIds(some), runNow(coreAuthChain(some, src, "test")));
        for (let t = 0; t < 20; t++) {
          const sets = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => ids.filter(() => rand() < 0.05));
          const want = runNow(coreAuthDifference(sets.map((set) => new Map(set.map((id, i) => [sk("t", String(i)), id]))), src));
          assert.deepEqual(await s.events.getAuthChainDifference(sets), want, `difference ${t}`);
        }
        assert.deepEqual(await s.events.getAuthChainDifference([]), new Set());
      });
    });
  });

  describe("orders", () => {
    it("pages a room's timeline in topological order both ways, with from/to bounds, including backfilled history", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev({ id: "c", depth: 10 }), ev({ id: "d", prev: ["c"], depth: 11 }), ev({ id: "e", prev: ["d"], depth: 12 })]));
        const back = await s.events.persistEvents(batch([ev({ id: "b", depth: 9 }, { backfilled: true }), ev({ id: "a", depth: 8 }, { backfilled: true })]));
        assert.ok(back.orderings.get(eid("a"))! < 0 && back.orderings.get(eid("b"))! < 0, "backfilled events get negative positions");
        const committed = await s.events.maxStreamOrdering();
        const ids = (l: { events: readonly { pdu: { eventId: EventId } }[] }) => l.events.map((e) => e.pdu.eventId);
        const end = { depth: Number.MAX_SAFE_INTEGER, stream: Number.MAX_SAFE_INTEGER };
        const p1 = await s.events.getRoomEventsTopological(ROOM, { from: end, direction: "b", limit: 2 });
        assert.deepEqual(ids(p1), [eid("e"), eid("d")]);
        const p2 = await s.events.getRoomEventsTopological(ROOM, { from: p1.next, direction: "b", limit: 10 });
        assert.deepEqual(ids(p2), [eid("c"), eid("b"), eid("a")], "backfilled history follows, in depth order");
        const f = await s.events.getRoomEventsTopological(ROOM, { from: { depth: 0, stream: 0 }, direction: "f", limit: 10 });
        assert.deepEqual(ids(f), [eid("a"), eid("b"), eid("c"), eid("d"), eid("e")]);
        const dPos = (await s.events.getRoomPosition(eid("d")))!;
        const aPos = (await s.events.getRoomPosition(eid("a")))!;
        assert.deepEqual(ids(await s.events.getRoomEventsTopological(ROOM, { from: dPos, to: aPos, direction: "b", limit: 10 })), [eid("c"), eid("b")], "both bounds exclusive");
        assert.deepEqual(ids(await s.events.getRoomEventsTopological(ROOM, { from: aPos, to: dPos, direction: "f", limit: 10 })), [eid("b"), eid("c")]);
        const none = await s.events.getRoomEventsTopological(ROOM, { from: aPos, direction: "b", limit: 10 });
        assert.deepEqual(none, { events: [], next: aPos });
        assert.equal(await s.events.getRoomPosition(eid("zz")), null);
        // Backfill never reaches the forward stream: /sync sees c, d, e only.
        assert.deepEqual((await s.events.getStreamEvents({ from: 0, to: committed, limit: 10 })).map((e) => e.pdu.eventId), [eid("c"), eid("d"), eid("e")]);
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("e")], "backfilled events are never forward extremities");
      });
    });

    it("finds the visible event nearest a timestamp each way (getEventNearTimestamp), ties to the later (b) or earlier (f) one", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([
          ev({ id: "t1", ts: 100 }), ev({ id: "t2", prev: ["t1"], depth: 2, ts: 200 }), ev({ id: "t3", prev: ["t2"], depth: 3, ts: 200 }),
          ev({ id: "t4", prev: ["t3"], depth: 4, ts: 300 }, { rejectionReason: "bad" }), ev({ id: "x", room: OTHER_ROOM, ts: 250 }),
        ]));
        const near = (ts: number, dir: "b" | "f") => s.events.getEventNearTimestamp(ROOM, ts, dir);
        assert.deepEqual(await near(250, "b"), { eventId: eid("t3"), originServerTs: 200 });
        assert.deepEqual(await near(150, "f"), { eventId: eid("t2"), originServerTs: 200 });
        assert.deepEqual(await near(100, "b"), { eventId: eid("t1"), originServerTs: 100 }, "an exact hit counts");
        assert.equal(await near(99, "b"), null);
        assert.equal(await near(201, "f"), null, "a rejected event is never an answer, nor another room's");
      });
    });

    it("gives outliers negative positions, so they never enter the forward stream", async () => {
      await withStorage(async (s) => {
        const r = await s.events.persistEvents(batch([ev({ id: "o1" }, { outlier: true }), ev({ id: "t" })]));
        assert.ok(r.orderings.get(eid("o1"))! < 0);
        assert.equal(r.maxOrdering, r.orderings.get(eid("t")));
        assert.deepEqual((await s.events.getStreamEvents({ from: 0, to: r.maxOrdering, limit: 10 })).map((e) => e.pdu.eventId), [eid("t")]);
      });
    });

    it("returns each room's latest events in a stream range, newest first, at most the limit per room", async () => {
      await withStorage(async (s) => {
        const specs: EventToPersist[] = [];
        for (let i = 0; i < 5; i++) specs.push(ev({ id: `r${i}`, depth: i + 1 }), ev({ id: `o${i}`, room: OTHER_ROOM, depth: i + 1 }));
        const r = await s.events.persistEvents(batch(specs));
        const first = r.orderings.get(eid("r0"))!;
        const got = await s.events.getRoomsRecentEvents([ROOM, OTHER_ROOM, "!empty:zion.test" as RoomId], { from: first, to: r.maxOrdering, limit: 3 });
        assert.deepEqual(got.get(ROOM)!.map((e) => e.pdu.eventId), [eid("r4"), eid("r3"), eid("r2")]);
        assert.deepEqual(got.get(OTHER_ROOM)!.map((e) => e.pdu.eventId), [eid("o4"), eid("o3"), eid("o2")]);
        assert.equal(got.has("!empty:zion.test" as RoomId), false);
        const all = await s.events.getStreamEvents({ from: first, to: r.maxOrdering, limit: 100 });
        assert.deepEqual(all.map((e) => e.pdu.eventId), specs.slice(1).map((e) => e.pdu.eventId), "the whole stream in order, from exclusive");
      });
    });
  });

  describe("soft failure and rejection", () => {
    it("stores soft-failed events without showing them or using them as forward extremities", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev({ id: "a" })]));
        const r = await s.events.persistEvents(batch([ev({ id: "sf", prev: ["a"], depth: 2 }, { softFailed: true })]));
        const stored = (await s.events.getEvents([eid("sf")])).get(eid("sf"))!;
        assert.equal(stored.softFailed, true);
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("a")]);
        assert.deepEqual((await s.events.getRoomEventsBetween(ROOM, 0, r.maxOrdering, 10)).map((e) => e.pdu.eventId), [eid("a")]);
        const end = { depth: 1e9, stream: 1e15 };
        assert.deepEqual((await s.events.getRoomEventsTopological(ROOM, { from: end, direction: "b", limit: 10 })).events.map((e) => e.pdu.eventId), [eid("a")]);
      });
    });

    it("marks stored events soft-failed or rejected later, taking them out of the forward extremities", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev({ id: "a" }), ev({ id: "b" }), ev({ id: "c" })]));
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("a"), eid("b"), eid("c")]);
        await s.events.markSoftFailed([eid("a")]);
        await s.events.markRejected([eid("b")], "auth rule 3");
        const got = await s.events.getEvents([eid("a"), eid("b")]);
        assert.equal(got.get(eid("a"))!.softFailed, true);
        assert.equal(got.get(eid("b"))!.rejectionReason, "auth rule 3");
        assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("c")]);
      });
    });
  });

  describe("current-state and membership streams", () => {
    const member = (id: string, user: UserId, membership: string, room: RoomId = ROOM): PduSpec => ({ id, room, type: "m.room.member", stateKey: user, sender: user, content: { membership } });

    it("records each current-state change at a stream position, with what it replaced", async () => {
      await withStorage(async (s) => {
        const r1 = await s.events.persistEvents(batch([ev({ id: "n1", type: "m.room.name", stateKey: "" })], { state: [{ roomId: ROOM, set: new Map([[sk("m.room.name"), eid("n1")]]) }] }));
        const r2 = await s.events.persistEvents(batch([ev({ id: "n2", type: "m.room.name", stateKey: "" })], { state: [{ roomId: ROOM, set: new Map([[sk("m.room.name"), eid("n2")]]) }] }));
        await s.events.persistEvents(batch([], { state: [{ roomId: ROOM, set: new Map([[sk("m.room.name"), eid("n2")]]) }] })); // no change: no row
        const r3 = await s.events.persistEvents(batch([], { state: [{ roomId: ROOM, set: new Map(), remove: [sk("m.room.name")] }] }));
        assert.ok(r1.maxOrdering < r2.maxOrdering && r2.maxOrdering < r3.maxOrdering, "a state change without events still takes a position");
        assert.ok(r2.maxOrdering > r2.orderings.get(eid("n2"))!, "state changes come after the batch's events");
        const to = await s.events.maxStreamOrdering();
        const all = await s.rooms.getCurrentStateChanges({ from: 0, to, limit: 10 });
        assert.deepEqual(all.map((c) => [c.eventId, c.prevEventId]), [[eid("n1"), null], [eid("n2"), eid("n1")], [null, eid("n2")]]);
        assert.deepEqual(all.map((c) => c.streamOrdering), [r1.maxOrdering, r2.maxOrdering, r3.maxOrdering]);
        assert.deepEqual((await s.rooms.getCurrentStateChanges({ from: r1.maxOrdering, to, limit: 10 }, [ROOM])).length, 2);
        assert.deepEqual(await s.rooms.getCurrentStateChanges({ from: 0, to, limit: 10 }, [OTHER_ROOM]), []);
        assert.deepEqual((await s.rooms.getCurrentStateChanges({ from: 0, to, limit: 1 })).length, 1);
      });
    });

    it("keeps current memberships and streams their changes per user, including a replace that drops a member", async () => {
      await withStorage(async (s) => {
        const j = await s.events.persistEvents(batch([ev(member("ja", ALICE, "join")), ev(member("jb", BOB, "join")), ev(member("jo", ALICE, "join", OTHER_ROOM))], {
          state: [
            { roomId: ROOM, set: new Map([[sk("m.room.member", ALICE), eid("ja")], [sk("m.room.member", BOB), eid("jb")]]) },
            { roomId: OTHER_ROOM, set: new Map([[sk("m.room.member", ALICE), eid("jo")]]) },
          ],
        }));
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "join"), [OTHER_ROOM, ROOM].sort());
        const l = await s.events.persistEvents(batch([ev(member("la", ALICE, "leave"))], { state: [{ roomId: ROOM, set: new Map([[sk("m.room.member", ALICE), eid("la")]]) }] }));
        // State resolution drops Bob's membership altogether.
        const x = await s.events.persistEvents(batch([], { state: [{ roomId: ROOM, replace: true, set: new Map([[sk("m.room.member", ALICE), eid("la")]]) }] }));
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "join"), [OTHER_ROOM]);
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "leave"), [ROOM]);
        assert.deepEqual(await s.rooms.getRoomsForUser(BOB, "join"), []);
        const to = await s.events.maxStreamOrdering();
        const alice = await s.rooms.getMembershipChanges(ALICE, { from: 0, to, limit: 10 });
        assert.deepEqual(alice.map((c) => [c.roomId, c.membership, c.streamOrdering]), [
          [OTHER_ROOM, "join", j.maxOrdering], [ROOM, "join", j.maxOrdering], [ROOM, "leave", l.maxOrdering],
        ].sort((a, b) => Number(a[2]) - Number(b[2]) || String(a[0]).localeCompare(String(b[0]))));
        const bob = await s.rooms.getMembershipChanges(BOB, { from: j.maxOrdering, to, limit: 10 });
        assert.deepEqual(bob, [{ streamOrdering: x.maxOrdering, roomId: ROOM, userId: BOB, membership: null, eventId: null }]);
      });
    });
  });

  describe("partial-state rooms (migration 0021)", () => {
    const CAROL = "@carol:remote.test" as UserId;
    const DAVE = "@dave:remote.test" as UserId;
    const member = (id: string, who: UserId, prev: readonly string[], depth: number): PduSpec =>
      ({ id, type: "m.room.member", stateKey: who, sender: who, content: { membership: "join" }, prev, auth: ["create"], depth });

    it("records a join with members omitted, lists it, and on completion fills the omitted members into the state of the join and of every event since, current state and memberships, in one batch", async () => {
      await withStorage(async (s) => {
        // What the resident sent (members omitted): create, and Bob's member event, as outliers.
        await s.events.persistEvents(batch([
          ev({ id: "create", type: "m.room.create", stateKey: "", sender: BOB }, { outlier: true }),
          ev(member("bob", BOB, ["create"], 2), { outlier: true }),
        ]));
        const partial = new Map([[sk("m.room.create"), eid("create")], [sk("m.room.member", BOB), eid("bob")]]);
        const record = { roomId: ROOM, joinEventId: eid("join"), serversInRoom: ["remote.test" as ServerName], joinedTs: NOW };
        await s.events.persistEvents(batch([ev(member("join", ALICE, ["bob"], 3), { stateBefore: { state: partial } })], {
          rooms: [{ roomId: ROOM, roomVersion: "10", creator: BOB }],
          state: [{ roomId: ROOM, replace: true, set: new Map([...partial, [sk("m.room.member", ALICE), eid("join")]]) }],
          partialStateJoin: record,
        }));
        assert.deepEqual(await s.rooms.getPartialStateRoom(ROOM), record);
        assert.deepEqual(await s.rooms.listPartialStateRooms(), [record]);
        assert.equal(await s.rooms.getPartialStateRoom(OTHER_ROOM), null);
        // While partial: Dave joins (received normally), then a message.
        await s.events.persistEvents(batch([
          ev(member("dave", DAVE, ["join"], 4), { stateBefore: { after: eid("join") } }),
          ev({ id: "m1", prev: ["dave"], depth: 5 }, { stateBefore: { after: eid("dave") } }),
        ], { state: [{ roomId: ROOM, set: new Map([[sk("m.room.member", DAVE), eid("dave")]]) }] }));
        // Completion: Carol (omitted) and an older Dave event the resident had before the join.
        const full = new Map([...partial, [sk("m.room.member", CAROL), eid("carol")], [sk("m.room.member", DAVE), eid("dave0")]]);
        const fill = new Map([...full].filter(([k]) => !partial.has(k)));
        const before = await s.events.maxStreamOrdering();
        await s.events.persistEvents(batch([
          ev(member("carol", CAROL, ["create"], 2), { outlier: true }),
          ev({ ...member("dave0", DAVE, ["create"], 2), content: { membership: "invite" } }, { outlier: true }),
        ], {
          state: [{ roomId: ROOM, set: new Map([[sk("m.room.member", CAROL), eid("carol")]]) }],
          partialStateComplete: { roomId: ROOM, fill },
        }));
        assert.equal(await s.rooms.getPartialStateRoom(ROOM), null);
        assert.deepEqual(await s.rooms.listPartialStateRooms(), []);
        const after = await s.events.maxStreamOrdering();
        assert.deepEqual(await s.rooms.getPartialStateCompletions({ from: before, to: after, limit: 10 }), [ROOM], "the completion is a position in the stream");
        assert.deepEqual(await s.rooms.getPartialStateCompletions({ from: after, to: after + 10, limit: 10 }), []);
        const atJoin = await s.state.getStateAtEvent(eid("join"), "before");
        assert.equal(atJoin?.get(sk("m.room.member", CAROL)), eid("carol"), "the omitted member is in the state before the join");
        assert.equal(atJoin?.get(sk("m.room.member", DAVE)), eid("dave0"));
        const atM1 = await s.state.getStateAtEvent(eid("m1"), "before");
        assert.equal(atM1?.get(sk("m.room.member", CAROL)), eid("carol"), "and in the state of events since");
        assert.equal(atM1?.get(sk("m.room.member", DAVE)), eid("dave"), "a key set since the join keeps its newer event");
        assert.equal(atM1?.get(sk("m.room.member", ALICE)), eid("join"));
        assert.equal(await s.rooms.getCurrentStateEventId(ROOM, "m.room.member", CAROL), eid("carol"));
        assert.equal((await s.rooms.getMembership(ROOM, CAROL))?.membership, "join");
        assert.deepEqual(await s.rooms.getRoomsForUser(CAROL, "join"), [ROOM]);
        const changes = await s.rooms.getCurrentStateChanges({ from: before, to: await s.events.maxStreamOrdering(), limit: 10 }, [ROOM]);
        assert.deepEqual(changes.map((c) => c.stateKey), [CAROL], "the completion enters the current-state stream");
      });
    });
  });

  describe("out-of-band memberships (migration 0012)", () => {
    const REMOTE_ROOM = "!far:remote.test" as RoomId;
    const invite = (id: string, membership = "invite", prev: readonly string[] = []): PduSpec =>
      ({ id, room: REMOTE_ROOM, type: "m.room.member", stateKey: ALICE, sender: BOB, content: { membership }, prev, auth: prev });

    it("lists an invite to a room not held in current memberships and the membership stream with its stripped state, and writes no room state", async () => {
      await withStorage(async (s) => {
        const stripped = [{ type: "m.room.name", state_key: "", content: { name: "far" }, sender: BOB }];
        const r = await s.events.persistEvents(batch([ev(invite("oi"), { outlier: true })], {
          outOfBand: [{ roomId: REMOTE_ROOM, userId: ALICE, membership: "invite", eventId: eid("oi"), strippedState: stripped }],
        }));
        assert.ok(r.maxOrdering > 0, "the membership takes a forward position");
        assert.ok(r.orderings.get(eid("oi"))! < 0, "the event is an outlier");
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "invite"), [REMOTE_ROOM]);
        assert.deepEqual(await s.rooms.getMembership(REMOTE_ROOM, ALICE), { membership: "invite", eventId: eid("oi"), strippedState: stripped });
        const changes = await s.rooms.getMembershipChanges(ALICE, { from: 0, to: await s.events.maxStreamOrdering(), limit: 10 });
        assert.deepEqual(changes, [{ streamOrdering: r.maxOrdering, roomId: REMOTE_ROOM, userId: ALICE, membership: "invite", eventId: eid("oi") }]);
        assert.equal(await s.rooms.getRoom(REMOTE_ROOM), null);
        assert.deepEqual(await s.rooms.getCurrentState(REMOTE_ROOM), new Map());
        assert.deepEqual(await s.rooms.getForwardExtremities(REMOTE_ROOM), []);
      });
    });

    it("replaces the invite with a later out-of-band leave (no stripped state), and a join of the room held later replaces that", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev(invite("oi2"), { outlier: true })], { outOfBand: [{ roomId: REMOTE_ROOM, userId: ALICE, membership: "invite", eventId: eid("oi2"), strippedState: [] }] }));
        const l = await s.events.persistEvents(batch([ev(invite("ol2", "leave", ["oi2"]), { outlier: true })], { outOfBand: [{ roomId: REMOTE_ROOM, userId: ALICE, membership: "leave", eventId: eid("ol2") }] }));
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "invite"), []);
        assert.deepEqual(await s.rooms.getMembership(REMOTE_ROOM, ALICE), { membership: "leave", eventId: eid("ol2"), strippedState: null });
        const j = ev({ id: "oj2", room: REMOTE_ROOM, type: "m.room.member", stateKey: ALICE, sender: ALICE, content: { membership: "join" } }, { stateBefore: { state: new Map() } });
        await s.events.persistEvents(batch([j], { rooms: [{ roomId: REMOTE_ROOM, roomVersion: "10", creator: BOB }], state: [{ roomId: REMOTE_ROOM, replace: true, set: new Map([[sk("m.room.member", ALICE), eid("oj2")]]) }] }));
        assert.deepEqual((await s.rooms.getMembership(REMOTE_ROOM, ALICE))?.membership, "join");
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "join"), [REMOTE_ROOM]);
        const changes = await s.rooms.getMembershipChanges(ALICE, { from: l.maxOrdering - 1, to: await s.events.maxStreamOrdering(), limit: 10 });
        assert.deepEqual(changes.map((c) => c.membership), ["leave", "join"]);
      });
    });

    it("writes nothing of an out-of-band batch that fails", async () => {
      await withStorage(async (s) => {
        await s.events.persistEvents(batch([ev(invite("oi3"), { outlier: true })]));
        await assert.rejects(s.events.persistEvents(batch([ev(invite("oi4"), { outlier: true }), ev({ id: "bad" }, { stateBefore: { after: eid("missing") } })], {
          outOfBand: [{ roomId: REMOTE_ROOM, userId: ALICE, membership: "invite", eventId: eid("oi4"), strippedState: [] }],
        })));
        assert.equal(await s.rooms.getMembership(REMOTE_ROOM, ALICE), null);
        assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "invite"), []);
      });
    });
  });

  describe("committed position", () => {
    it("never lets a reader skip an event: a reader following the committed position sees every event of concurrent writers of four rooms", reopenSkip, async () => {
      const db = await fresh();
      const [w1, w2, reader] = await Promise.all([db.open(), db.open(), db.open()]);
      try {
        const rooms = ["!r1:zion.test", "!r2:zion.test", "!r3:zion.test", "!r4:zion.test"] as RoomId[];
        let writing = true;
        const seen: EventId[] = [];
        let reads = 0;
        const follow = (async () => {
          let pos: StreamOrdering = 0;
          for (;;) {
            const done = !writing;
            const to = await reader!.events.maxStreamOrdering();
            assert.ok(to >= pos, "the committed position never goes back");
            for (;;) {
              const page = await reader!.events.getStreamEvents({ from: pos, to, limit: 50 });
              for (const e of page) seen.push(e.pdu.eventId);
              if (page.length < 50) break;
              pos = page[page.length - 1]!.streamOrdering;
            }
            pos = to;
            reads++;
            if (done) return;
            await new Promise((r) => setImmediate(r));
          }
        })();
        const writes: Promise<unknown>[] = [];
        for (const [n, w] of [[0, w1!], [1, w2!]] as const) {
          writes.push((async () => {
            for (let i = 0; i < 30; i++) {
              const room = rooms[(i + n) % 4]!;
              const size = 1 + ((i * 7 + n) % 20);
              await w.events.persistEvents(batch(Array.from({ length: size }, (_, k) => ev({ id: `w${n}-${i}-${k}`, room }))));
              await new Promise((r) => setImmediate(r)); // let the reader in between writes of a synchronous engine
            }
          })());
        }
        await Promise.all(writes);
        writing = false;
        await follow;
        const expected = new Set<EventId>();
        for (const n of [0, 1]) for (let i = 0; i < 30; i++) for (let k = 0; k < 1 + ((i * 7 + n) % 20); k++) expected.add(eid(`w${n}-${i}-${k}`));
        assert.ok(reads > 2, `the reader read while writers wrote (${reads} reads)`);
        assert.equal(seen.length, new Set(seen).size, "no event seen twice");
        assert.deepEqual(new Set(seen), expected, "every event seen");
      } finally {
        await Promise.all([w1?.close(), w2?.close(), reader?.close()]);
      }
    });
  });
}
