/**
 * Conformance for PushActionStore and the pushers' delivery positions (migration 0018): actions written with the
 * batch for the events it puts in the timeline only, counted per thread after a position, listed both ways, and a
 * pusher starting at its user's newest action.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, UserId } from "../../core/ids/index.js";
import type { EventToPersist, PushActionToStore, Storage } from "../ports.js";
import { ALICE, OTHER_ROOM, ROOM, eid, pdu, type PduSpec } from "./fixtures.js";

const CAROL = "@carol:zion.test" as UserId;

function chain(specs: readonly (PduSpec & { flags?: Omit<EventToPersist, "pdu"> })[]): EventToPersist[] {
  return specs.map((s, i) => ({ pdu: pdu({ depth: i + 1, prev: i === 0 ? [] : [specs[i - 1]!.id], ...s }), ...(s.flags ?? {}) }));
}

const action = (id: string, extra: Partial<PushActionToStore> = {}): PushActionToStore => ({
  eventId: eid(id), userId: CAROL, threadId: null, highlight: false, actions: ["notify"], ...extra,
});

export function pushActionConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("PushActionStore", () => {
    it("stores the batch's actions for its timeline events only, and counts them per thread after a position", async () => {
      await withStorage(async (s) => {
        const r = await s.events.persistEvents({
          receivedTs: 1,
          events: chain([
            { id: "p1" }, { id: "p2" }, { id: "p3" },
            { id: "rej", flags: { rejectionReason: "auth" } },
            { id: "out", flags: { outlier: true } },
          ]),
          pushActions: [
            action("p1"), action("p2", { highlight: true, actions: ["notify", { set_tweak: "highlight" }] }), action("p3", { threadId: "$p1" }),
            action("rej"), action("out"), action("p1", { userId: ALICE }),
          ],
        });
        const at = (id: string) => r.orderings.get(eid(id))!;
        const all = await s.pushActions.countByThread(CAROL, ROOM, 0, r.maxOrdering);
        assert.deepEqual([...all].sort(), [[null, { notifications: 2, highlights: 1 }], ["$p1", { notifications: 1, highlights: 0 }]].sort());
        assert.deepEqual([...(await s.pushActions.countByThread(CAROL, ROOM, at("p1"), r.maxOrdering, null))], [[null, { notifications: 1, highlights: 1 }]]);
        assert.deepEqual([...(await s.pushActions.countByThread(CAROL, ROOM, 0, r.maxOrdering, "$p1"))], [["$p1", { notifications: 1, highlights: 0 }]]);
        assert.deepEqual([...(await s.pushActions.countByThread(CAROL, ROOM, 0, at("p1")))], [[null, { notifications: 1, highlights: 0 }]], "up to `to` only");
        assert.equal((await s.pushActions.countByThread(CAROL, OTHER_ROOM, 0, r.maxOrdering)).size, 0);
        assert.deepEqual((await s.pushActions.listAfter(ALICE, 0, r.maxOrdering, 10)).map((a) => a.eventId), [eid("p1")]);
        assert.equal(await s.pushActions.maxOrdering(CAROL), at("p3"));
        assert.equal(await s.pushActions.maxOrdering("@nobody:zion.test" as UserId), 0);
      });
    });

    it("lists a user's actions oldest first after a position and newest first before one, highlights alone on request", async () => {
      await withStorage(async (s) => {
        const r = await s.events.persistEvents({
          receivedTs: 1,
          events: chain([{ id: "l1" }, { id: "l2" }, { id: "l3" }]),
          pushActions: [action("l1"), action("l2", { highlight: true, actions: ["notify", { set_tweak: "highlight" }] }), action("l3")],
        });
        const at = (id: string) => r.orderings.get(eid(id))!;
        const after = await s.pushActions.listAfter(CAROL, at("l1"), r.maxOrdering, 10);
        assert.deepEqual(after.map((a) => a.eventId), [eid("l2"), eid("l3")]);
        assert.deepEqual(after[0], { userId: CAROL, roomId: ROOM, eventId: eid("l2") as EventId, streamOrdering: at("l2"), threadId: null, highlight: true, actions: ["notify", { set_tweak: "highlight" }] });
        assert.deepEqual((await s.pushActions.listAfter(CAROL, 0, r.maxOrdering, 1)).map((a) => a.eventId), [eid("l1")]);
        assert.deepEqual((await s.pushActions.listBefore(CAROL, at("l3"), 10, false)).map((a) => a.eventId), [eid("l2"), eid("l1")]);
        assert.deepEqual((await s.pushActions.listBefore(CAROL, Number.MAX_SAFE_INTEGER, 10, true)).map((a) => a.eventId), [eid("l2")]);
      });
    });

    it("counts and lists exactly across batches, rooms, threads and many runs (paged reads)", async () => {
      await withStorage(async (s) => {
        // Three batches (two rooms) of 100 events; CAROL is notified for most, some highlight, some in a thread. The
        // stream passes ordering 256 in the third, so the reads see runs in both tables (the recent and the moved).
        type Want = { eventId: EventId; room: typeof ROOM; ordering: number; threadId: string | null; highlight: boolean };
        const want: Want[] = [];
        const last = new Map<string, string>();
        for (const [b, room] of [[0, ROOM], [1, OTHER_ROOM], [2, ROOM]] as const) {
          const ids = Array.from({ length: 100 }, (_, i) => `m${b}-${i}`);
          const events = ids.map((id, i) => ({ pdu: pdu({ id, room, depth: b * 100 + i + 1, prev: i === 0 ? (last.has(room) ? [last.get(room)!] : []) : [ids[i - 1]!] }) }));
          last.set(room, ids.at(-1)!);
          const acts = ids.flatMap((id, i) => (i % 7 === 3 ? [] : [action(id, {
            threadId: i % 5 === 1 ? "$root" : null,
            ...(i % 4 === 0 ? { highlight: true, actions: ["notify", { set_tweak: "highlight" }] } : {}),
          })]));
          const r = await s.events.persistEvents({ receivedTs: 1, events, pushActions: acts });
          for (const a of acts) want.push({ eventId: a.eventId, room, ordering: r.orderings.get(a.eventId)!, threadId: a.threadId, highlight: a.highlight });
        }
        want.sort((x, y) => x.ordering - y.ordering);
        const max = want.at(-1)!.ordering;
        const min = want[0]!.ordering;
        for (const from of [0, min, min + 1, min + 40, min + 63, min + 64, min + 100, 255, 256, max - 1, max]) {
          for (const to of [from + 1, from + 65, max]) {
            for (const room of [ROOM, OTHER_ROOM]) {
              const got = await s.pushActions.countByThread(CAROL, room, from, to);
              const expected = new Map<string | null, { notifications: number; highlights: number }>();
              for (const w of want) {
                if (w.room !== room || w.ordering <= from || w.ordering > to) continue;
                const c = expected.get(w.threadId) ?? { notifications: 0, highlights: 0 };
                c.notifications++;
                if (w.highlight) c.highlights++;
                expected.set(w.threadId, c);
              }
              assert.deepEqual(new Map(got), expected, `counts in ${room} after ${from} up to ${to}`);
            }
          }
          for (const limit of [1, 5, 64, 100, 1000]) {
            const after = await s.pushActions.listAfter(CAROL, from, max, limit);
            assert.deepEqual(after.map((a) => [a.eventId, a.streamOrdering, a.roomId, a.threadId, a.highlight]),
              want.filter((w) => w.ordering > from).slice(0, limit).map((w) => [w.eventId, w.ordering, w.room, w.threadId, w.highlight]), `after ${from}, ${limit}`);
            const before = await s.pushActions.listBefore(CAROL, from, limit, false);
            assert.deepEqual(before.map((a) => a.eventId), want.filter((w) => w.ordering < from).reverse().slice(0, limit).map((w) => w.eventId), `before ${from}, ${limit}`);
            const highlights = await s.pushActions.listBefore(CAROL, from, limit, true);
            assert.deepEqual(highlights.map((a) => a.eventId), want.filter((w) => w.ordering < from && w.highlight).reverse().slice(0, limit).map((w) => w.eventId), `highlights before ${from}, ${limit}`);
          }
        }
        assert.equal(await s.pushActions.maxOrdering(CAROL), max);
      });
    });

    it("starts a new pusher at its user's newest action, keeps the position when the pusher is set again, and deletes by pushkey", async () => {
      await withStorage(async (s) => {
        const pusher = (userId: UserId, pushkey: string) => ({
          userId, appId: "org.example.app", pushkey, kind: "http", appDisplayName: "App", deviceDisplayName: "Phone",
          profileTag: null, lang: "en", data: { url: "https://push.example/_matrix/push/v1/notify" }, deviceId: "DEV1", pushkeyTs: 1000,
        });
        await s.pushers.set(pusher(CAROL, "before"), false);
        assert.deepEqual((await s.pushers.deliveries("http", [CAROL])).map((p) => [p.pushkey, p.lastStreamOrdering, p.failingSince]), [["before", 0, null]]);
        const r = await s.events.persistEvents({ receivedTs: 1, events: chain([{ id: "d1" }]), pushActions: [action("d1")] });
        await s.pushers.set(pusher(CAROL, "after"), false);
        const now = await s.pushers.deliveries("http", [CAROL]);
        assert.deepEqual(now.map((p) => [p.pushkey, p.lastStreamOrdering]), [["after", r.orderings.get(eid("d1"))], ["before", 0]]);
        await s.pushers.updateDelivery(CAROL, "org.example.app", "before", 7, 1234);
        await s.pushers.set(pusher(CAROL, "before"), false);
        const kept = (await s.pushers.deliveries("http", [CAROL])).find((p) => p.pushkey === "before")!;
        assert.deepEqual([kept.lastStreamOrdering, kept.failingSince], [7, 1234], "set again: the delivery position stays");
        assert.equal((await s.pushers.deliveries("http")).length, 2);
        assert.equal((await s.pushers.deliveries("email")).length, 0);
        await s.pushers.set(pusher(ALICE, "after"), true);
        assert.equal(await s.pushers.deleteByPushkey("org.example.app", "after"), 2, "every user's pusher with the pair");
        assert.deepEqual((await s.pushers.deliveries("http")).map((p) => p.pushkey), ["before"]);
      });
    });
  });
}
