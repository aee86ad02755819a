/**
 * The one storage test suite (STYLE C8), run against every backend:
 *   src/storage/sqlite/sqlite.test.ts     (a file in a temp dir, and :memory:)
 *   src/storage/postgres/postgres.test.ts (a private PostgreSQL, or ZION_TEST_PG_URL)
 * A backend-specific skip states its reason in the test output.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { contentHash } from "../../core/events/hashes.js";
import { parsePdu } from "../../core/events/parse.js";
import { canonicalJson, encodeBase64, parseJsonStrict } from "../../core/json/index.js";
import { roomVersion } from "../../core/room-versions/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import { stateKeyOf, type StateKey } from "../../core/events/pdu.js";
import {
  ConstraintViolationError,
  StorageError,
  StorageUnavailableError,
  UniqueViolationError,
  type EventToPersist,
  type PersistBatch,
  type Storage,
} from "../ports.js";
import { describeUserStreamStores } from "./e2ee.js";
import { ALICE, BOB, OTHER_ROOM, ROOM, V1_RULES, eid, pdu, serverKey, type PduSpec } from "./fixtures.js";
import { roomConformance } from "./rooms.js";
import { outboundConformance } from "./outbound.js";
import { roomClientConformance } from "./room-client.js";
import { relationConformance } from "./relations.js";
import { mediaConformance } from "./media.js";
import { adminConformance } from "./admin.js";
import { slidingSyncConformance } from "./sliding-sync.js";
import { uiaReportConformance } from "./uia-reports.js";
import { pusherConformance } from "./pushers.js";
import { pushActionConformance } from "./push-actions.js";
import { deviceFederationConformance } from "./device-federation.js";
import { Worker } from "node:worker_threads";
import type { WorkerInput, WorkerOpen, WorkerResult, WorkerTask } from "./worker.js";

/** One empty database, which may be opened several times (restart, several processes). */
export interface ConformanceDatabase {
  open(options?: { migrate?: boolean }): Promise<Storage>;
  /** How another thread opens the same database (absent when it cannot: :memory:). */
  readonly worker?: WorkerOpen;
}

/** Runs `task` in `n` worker threads at once (each its own connection, released together at a barrier). */
async function inWorkers(open: WorkerOpen, tasks: readonly WorkerTask[]): Promise<WorkerResult[]> {
  const barrier = new SharedArrayBuffer(8);
  const flags = new Int32Array(barrier);
  const workers = tasks.map((task) => new Worker(new URL("./worker.js", import.meta.url), { workerData: { open, task, barrier, workers: tasks.length } satisfies WorkerInput }));
  try {
    const results = workers.map((w) => new Promise<WorkerResult>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
      w.once("exit", (code) => reject(new Error(`worker exited with ${code} before answering`)));
    }));
    while (Atomics.load(flags, 0) < tasks.length) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    return await Promise.all(results);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export interface ConformanceTarget {
  /** Shown in test names: "sqlite (file)", "postgres". */
  readonly name: string;
  /** Creates a fresh, empty database. */
  fresh(): Promise<ConformanceDatabase>;
  /**
   * Why reopening the same database is impossible for this target (a :memory:
   * database lives and dies with its connection), or undefined when it works.
   */
  readonly noReopenReason?: string;
  /** Called once after the whole suite (remove temp dirs, stop servers). */
  cleanup?(): Promise<void>;
}

const NOW = 1_700_000_000_000;

function batch(events: readonly (PduSpec | EventToPersist)[], extra: Partial<PersistBatch> = {}): PersistBatch {
  return {
    events: events.map((e) => ("pdu" in e ? e : { pdu: pdu(e) })),
    receivedTs: NOW,
    ...extra,
  };
}

function state(entries: Array<[string, string, string]>): Map<StateKey, EventId> {
  return new Map(entries.map(([type, key, id]) => [stateKeyOf(type, key), eid(id)]));
}

export function runStorageConformance(target: ConformanceTarget): void {
  describe(`storage conformance: ${target.name}`, () => {
    after(async () => {
      await target.cleanup?.();
    });

    /** Opens a fresh migrated database, runs `fn`, closes it whatever happens. */
    async function withStorage(fn: (s: Storage) => Promise<void>): Promise<void> {
      const db = await target.fresh();
      const s = await db.open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    }

    const reopenSkip = target.noReopenReason ? { skip: target.noReopenReason } : {};

    describe("migrations", () => {
      it("applies every migration at open, so a fresh database reports migrated", async () => {
        await withStorage(async (s) => {
          const status = await s.migrationStatus();
          assert.ok(status.latest >= 1);
          assert.equal(status.current, status.latest);
          assert.deepEqual(status.pending, []);
          assert.deepEqual(status.unknown, []);
          assert.equal(await s.isMigrated(), true);
        });
      });

      it("reports every migration pending when opened without migrating, then applies them once", async () => {
        const db = await target.fresh();
        const s = await db.open({ migrate: false });
        try {
          assert.equal(await s.isMigrated(), false);
          const before = await s.migrationStatus();
          assert.equal(before.current, 0);
          assert.ok(before.pending.length >= 1);
          assert.match(before.pending[0]!, /^0001-/);
          const applied = await s.migrate();
          assert.deepEqual(applied, before.pending);
          assert.deepEqual(await s.migrate(), [], "a second migrate() applies nothing");
          assert.equal(await s.isMigrated(), true);
        } finally {
          await s.close();
        }
      });

      it("keeps data and applies nothing again when reopened (restart)", reopenSkip, async () => {
        const db = await target.fresh();
        const first = await db.open();
        await first.users.createUser({ userId: ALICE, passwordHash: "hash", createdTs: NOW });
        await first.close();
        const second = await db.open();
        try {
          assert.deepEqual(await second.migrate(), []);
          assert.equal(await second.isMigrated(), true);
          assert.equal((await second.users.getUser(ALICE))?.passwordHash, "hash");
        } finally {
          await second.close();
        }
      });

      it("lets several processes open one fresh database at once, migrating it exactly once", reopenSkip, async () => {
        const db = await target.fresh();
        assert.ok(db.worker, "a target that can be reopened says how another thread opens it");
        const results = await inWorkers(db.worker, [{ kind: "open" }, { kind: "open" }, { kind: "open" }]);
        for (const r of results) {
          assert.ok(r.ok, r.ok ? "" : r.error);
          assert.equal(r.migrated, true);
          assert.equal(r.current, r.latest);
        }
        const s = await db.open({ migrate: false });
        try {
          assert.equal(await s.isMigrated(), true);
          assert.deepEqual(await s.migrate(), [], "nothing left to apply");
        } finally {
          await s.close();
        }
      });
    });

    describe("health", () => {
      it("answers ping while open and fails with StorageUnavailableError after close", async () => {
        const db = await target.fresh();
        const s = await db.open();
        await s.ping();
        await s.close();
        await assert.rejects(s.ping(), StorageUnavailableError);
        await s.close(); // closing twice is harmless
      });
    });

    describe("KeyStore", () => {
      it("stores a batch of keys and returns them by server and key id, the signed response intact", async () => {
        await withStorage(async (s) => {
          const a = serverKey("remote.test", "a");
          const b = serverKey("remote.test", "b", { expiredTs: NOW - 10, validUntilTs: 0 });
          const other = serverKey("other.test", "a");
          await s.keys.upsertServerKeys([a, b, other]);
          const got = await s.keys.getServerKeys("remote.test" as ServerName, [a.keyId, b.keyId, "ed25519:missing" as never]);
          assert.equal(got.size, 2);
          assert.deepEqual(got.get(a.keyId), a);
          assert.deepEqual(got.get(b.keyId), b);
          assert.equal(got.get(b.keyId)?.expiredTs, NOW - 10);
          assert.deepEqual(await s.keys.getServerKeys("nobody.test" as ServerName, [a.keyId]), new Map());
        });
      });

      it("returns all keys of one server ordered by key id, and no other server's", async () => {
        await withStorage(async (s) => {
          await s.keys.upsertServerKeys([serverKey("remote.test", "zz"), serverKey("remote.test", "aa"), serverKey("other.test", "mm")]);
          const all = await s.keys.getAllServerKeys("remote.test" as ServerName);
          assert.deepEqual(all.map((k) => k.keyId), ["ed25519:aa", "ed25519:zz"]);
          assert.deepEqual(await s.keys.getAllServerKeys("none.test" as ServerName), []);
        });
      });

      it("replaces a key on upsert (a refetch, or a key moved to old_verify_keys)", async () => {
        await withStorage(async (s) => {
          const k = serverKey("remote.test", "a");
          await s.keys.upsertServerKeys([k]);
          const moved = serverKey("remote.test", "a", { expiredTs: NOW + 5, validUntilTs: 0, fetchedTs: NOW + 6, fetchedFrom: "notary.test" as ServerName, keyJson: { refetched: true } });
          await s.keys.upsertServerKeys([moved]);
          assert.deepEqual(await s.keys.getAllServerKeys("remote.test" as ServerName), [moved]);
        });
      });
    });

    describe("EventStore", () => {
      it("round-trips every PDU field, including the wire JSON", async () => {
        await withStorage(async (s) => {
          const create = pdu({ id: "create", type: "m.room.create", stateKey: "", content: { creator: ALICE, room_version: "10" } });
          const msg = pdu({ id: "msg", prev: ["create"], auth: ["create"], depth: 2, ts: NOW + 1 });
          const redaction = pdu({ id: "red", type: "m.room.redaction", prev: ["msg"], auth: ["create"], depth: 3, redacts: "msg", content: {} });
          await s.events.persistEvents(batch([{ pdu: create }, { pdu: msg }, { pdu: redaction }]));
          const got = await s.events.getPdus([create.eventId, msg.eventId, redaction.eventId, eid("unknown")]);
          assert.equal(got.size, 3);
          for (const want of [create, msg, redaction]) {
            const p = got.get(want.eventId)!;
            assert.equal(p.eventId, want.eventId);
            assert.equal(p.roomId, want.roomId);
            assert.equal(p.sender, want.sender);
            assert.equal(p.type, want.type);
            assert.equal(p.stateKey, want.stateKey);
            assert.deepEqual(p.content, want.content);
            assert.deepEqual(p.prevEvents, want.prevEvents);
            assert.deepEqual(p.authEvents, want.authEvents);
            assert.equal(p.depth, want.depth);
            assert.equal(p.originServerTs, want.originServerTs);
            assert.equal(p.redacts, want.redacts);
            assert.equal(p.roomVersion.id, want.roomVersion.id);
            assert.deepEqual(p.raw, want.raw);
          }
          assert.equal(got.get(create.eventId)!.stateKey, "", "an empty state key is kept, not turned into a message event");
          assert.equal(got.get(msg.eventId)!.stateKey, undefined);
        });
      });

      it("keeps the number text of a room version 5 event's floats, so its hashes survive storage", async () => {
        // An event Synapse built with floats (0.1, 1e-07, 1.5e+300, -0.0, ...): its content hash covers Python's spellings.
        const fixture = readFileSync(fileURLToPath(new URL("../../../../test/fixtures/synapse/floats/events-v5.json", import.meta.url)), "utf8");
        const { events } = JSON.parse(fixture) as { events: { event_id: string; content_hash: string; wire: string; pdu: { type: string } }[] };
        const msg = events.find((e) => e.pdu.type === "m.room.message")!;
        const wirePdu = parsePdu(parseJsonStrict(msg.wire, { strictIntegers: false }), roomVersion("5"));
        await withStorage(async (s) => {
          await s.events.persistEvents(batch([{ pdu: wirePdu }]));
          const got = (await s.events.getPdus([wirePdu.eventId])).get(wirePdu.eventId)!;
          assert.equal(canonicalJson(got.raw, { strict: false }), msg.wire);
          assert.equal(encodeBase64(contentHash(got.raw, got.roomVersion)), msg.content_hash);
          assert.equal(got.eventId, msg.event_id);
        });
      });

      it("reads v1-format [id, hashes] references back as event ids", async () => {
        await withStorage(async (s) => {
          const a = pdu({ id: "a:zion.test", rules: V1_RULES, type: "m.room.create", stateKey: "" });
          const b = pdu({ id: "b:zion.test", rules: V1_RULES, prev: ["a:zion.test"], auth: ["a:zion.test"], depth: 2 });
          await s.events.persistEvents(batch([{ pdu: a }, { pdu: b }]));
          const got = (await s.events.getPdus([b.eventId])).get(b.eventId)!;
          assert.deepEqual(got.prevEvents, [eid("a:zion.test")]);
          assert.deepEqual(got.authEvents, [eid("a:zion.test")]);
          assert.equal(got.roomVersion.id, "1");
          assert.deepEqual(got.raw["prev_events"], [["$a:zion.test", { sha256: "aGFzaA" }]]);
        });
      });

      it("gives each new event a stream ordering larger than every earlier one, in batch order", async () => {
        await withStorage(async (s) => {
          assert.equal(await s.events.maxStreamOrdering(), 0);
          const r1 = await s.events.persistEvents(batch([{ id: "a" }, { id: "b", prev: ["a"] }, { id: "c", prev: ["b"] }]));
          const o1 = [eid("a"), eid("b"), eid("c")].map((id) => r1.orderings.get(id)!);
          assert.ok(o1[0]! < o1[1]! && o1[1]! < o1[2]!, `orderings ${o1.join(",")} rise in batch order`);
          assert.equal(r1.maxOrdering, o1[2]);
          const r2 = await s.events.persistEvents(batch([{ id: "d", prev: ["c"] }]));
          assert.ok(r2.orderings.get(eid("d"))! > o1[2]!);
          assert.equal(await s.events.maxStreamOrdering(), r2.maxOrdering);
          const stored = await s.events.getEvents([eid("a"), eid("d")]);
          assert.equal(stored.get(eid("a"))!.streamOrdering, o1[0]);
          assert.equal(stored.get(eid("d"))!.streamOrdering, r2.orderings.get(eid("d")));
        });
      });

      it("skips events stored already, and the same event twice in one batch, without new orderings", async () => {
        await withStorage(async (s) => {
          const r1 = await s.events.persistEvents(batch([{ id: "a" }]));
          const r2 = await s.events.persistEvents(batch([{ id: "a" }, { id: "b" }, { id: "b" }]));
          assert.deepEqual([...r2.alreadyKnown].sort(), [eid("a"), eid("b")].sort());
          assert.deepEqual([...r2.orderings.keys()], [eid("b")]);
          assert.equal((await s.events.getEvents([eid("a")])).get(eid("a"))!.streamOrdering, r1.orderings.get(eid("a")));
          const r3 = await s.events.persistEvents(batch([{ id: "a" }]));
          assert.equal(r3.orderings.size, 0);
          assert.equal(r3.maxOrdering, r2.maxOrdering, "nothing written leaves the stream where it was");
        });
      });

      it("moves an outlier into the timeline with a new ordering when it is persisted again as a timeline event", async () => {
        await withStorage(async (s) => {
          const r1 = await s.events.persistEvents(batch([{ pdu: pdu({ id: "o" }), outlier: true }, { pdu: pdu({ id: "x" }) }]));
          const before = (await s.events.getEvents([eid("o")])).get(eid("o"))!;
          assert.equal(before.outlier, true);
          assert.deepEqual(await s.events.getRoomEventsBetween(ROOM, 0, r1.maxOrdering, 10).then((l) => l.map((e) => e.pdu.eventId)), [eid("x")]);
          const r2 = await s.events.persistEvents(batch([{ id: "o" }]));
          assert.deepEqual(r2.alreadyKnown, []);
          const after = (await s.events.getEvents([eid("o")])).get(eid("o"))!;
          assert.equal(after.outlier, false);
          assert.ok(after.streamOrdering > r1.maxOrdering);
          assert.equal(after.streamOrdering, r2.orderings.get(eid("o")));
          const r3 = await s.events.persistEvents(batch([{ pdu: pdu({ id: "o" }), outlier: true }]));
          assert.deepEqual(r3.alreadyKnown, [eid("o")], "a timeline event never goes back to being an outlier");
        });
      });

      it("stores rejected events with their reason and keeps them out of the forward extremities", async () => {
        await withStorage(async (s) => {
          await s.events.persistEvents(batch([{ id: "a" }]));
          await s.events.persistEvents(batch([{ pdu: pdu({ id: "bad", prev: ["a"], depth: 2 }), rejectionReason: "auth rule 4.7.3" }]));
          const bad = (await s.events.getEvents([eid("bad")])).get(eid("bad"))!;
          assert.equal(bad.rejectionReason, "auth rule 4.7.3");
          assert.equal((await s.events.getEvents([eid("a")])).get(eid("a"))!.rejectionReason, null);
          assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("a")]);
        });
      });

      it("says which of a list of events are stored", async () => {
        await withStorage(async (s) => {
          await s.events.persistEvents(batch([{ id: "a" }, { pdu: pdu({ id: "o" }), outlier: true }]));
          assert.deepEqual(await s.events.haveEvents([eid("a"), eid("o"), eid("missing")]), new Set([eid("a"), eid("o")]));
          assert.deepEqual(await s.events.haveEvents([]), new Set());
        });
      });

      it("lists a room's timeline between two orderings, without outliers or other rooms, up to a limit", async () => {
        await withStorage(async (s) => {
          const r = await s.events.persistEvents(
            batch([
              { id: "a" },
              { id: "other", room: OTHER_ROOM },
              { pdu: pdu({ id: "out" }), outlier: true },
              { id: "b", prev: ["a"] },
              { id: "c", prev: ["b"] },
            ]),
          );
          const ids = (l: readonly { pdu: { eventId: EventId } }[]) => l.map((e) => e.pdu.eventId);
          assert.deepEqual(ids(await s.events.getRoomEventsBetween(ROOM, 0, r.maxOrdering, 10)), [eid("a"), eid("b"), eid("c")]);
          const oa = r.orderings.get(eid("a"))!;
          assert.deepEqual(ids(await s.events.getRoomEventsBetween(ROOM, oa, r.maxOrdering, 10)), [eid("b"), eid("c")], "from is exclusive");
          assert.deepEqual(ids(await s.events.getRoomEventsBetween(ROOM, 0, oa, 10)), [eid("a")], "to is inclusive");
          assert.deepEqual(ids(await s.events.getRoomEventsBetween(ROOM, 0, r.maxOrdering, 2)), [eid("a"), eid("b")]);
          assert.deepEqual(ids(await s.events.getRoomEventsBetween(OTHER_ROOM, 0, r.maxOrdering, 10)), [eid("other")]);
        });
      });

      it("returns the stored auth chain of events, transitively, without the events themselves", async () => {
        await withStorage(async (s) => {
          await s.events.persistEvents(
            batch([
              { id: "create" },
              { id: "member", auth: ["create"] },
              { id: "power", auth: ["create", "member"] },
              { id: "msg", auth: ["create", "member", "power", "not-stored"] },
              { id: "unrelated" },
            ]),
          );
          assert.deepEqual(await s.events.getAuthChainIds([eid("msg")]), new Set([eid("create"), eid("member"), eid("power")]));
          assert.deepEqual(await s.events.getAuthChainIds([eid("member")]), new Set([eid("create")]));
          assert.deepEqual(await s.events.getAuthChainIds([eid("create")]), new Set());
          const chains = await s.events.getAuthChains([eid("msg"), eid("power"), eid("create"), eid("missing")]);
          assert.deepEqual(chains, new Map([
            [eid("msg"), new Set([eid("create"), eid("member"), eid("power")])],
            [eid("power"), new Set([eid("create"), eid("member")])],
            [eid("create"), new Set()],
            [eid("missing"), new Set()],
          ]));
        });
      });

      it("stores the wire JSON in canonical form and refuses JSON that cannot be encoded, writing nothing", async () => {
        await withStorage(async (s) => {
          const unordered = pdu({ id: "u", content: { zebra: 1, alpha: { b: 2, a: 1 }, body: "\u2028 é" } });
          await s.events.persistEvents(batch([{ pdu: unordered }]));
          const back = (await s.events.getPdus([unordered.eventId])).get(unordered.eventId)!;
          assert.deepEqual(back.raw, unordered.raw);
          assert.deepEqual(Object.keys(back.content), ["alpha", "body", "zebra"], "keys come back in canonical order");
          const lone = pdu({ id: "lone", content: { body: "\ud800" } }); // a lone surrogate has no UTF-8 form
          await assert.rejects(s.events.persistEvents(batch([{ id: "fine" }, { pdu: lone }])), ConstraintViolationError);
          assert.deepEqual(await s.events.haveEvents([eid("fine"), eid("lone")]), new Set());
        });
      });

      it("keeps forward extremities through a linear run, a fork and a merge, in any arrival order", async () => {
        await withStorage(async (s) => {
          const ext = () => s.rooms.getForwardExtremities(ROOM);
          await s.events.persistEvents(batch([{ id: "a" }, { id: "b", prev: ["a"] }]));
          assert.deepEqual(await ext(), [eid("b")]);
          await s.events.persistEvents(batch([{ id: "c1", prev: ["b"] }]));
          await s.events.persistEvents(batch([{ id: "c2", prev: ["b"] }]));
          assert.deepEqual(await ext(), [eid("c1"), eid("c2")], "a fork has two extremities");
          // The merge arrives before its second parent's child is known: child first, then an older parent.
          await s.events.persistEvents(batch([{ id: "m", prev: ["c1", "c2"] }]));
          assert.deepEqual(await ext(), [eid("m")]);
          await s.events.persistEvents(batch([{ id: "late-child", prev: ["late-parent"] }, { id: "late-parent", prev: ["m"] }]));
          assert.deepEqual(await ext(), [eid("late-child")], "a parent arriving after its child is not an extremity");
        });
      });

      it("writes nothing from a batch that fails midway: events, rooms, state and the stream stay as they were", async () => {
        await withStorage(async (s) => {
          const r0 = await s.events.persistEvents(batch([{ id: "first" }], { rooms: [{ roomId: ROOM, roomVersion: "10", creator: ALICE }] }));
          // 60 good events around one with a null sender (a NOT NULL column): the store writes events 50 rows per
          // statement, so the first 50 are in the database when the broken one fails, and must be rolled back.
          const broken = { ...pdu({ id: "broken", prev: ["ok54"] }), sender: null as unknown as UserId };
          const good = Array.from({ length: 60 }, (_, i): PduSpec => ({ id: `ok${i}`, prev: [i === 0 ? "first" : `ok${i - 1}`], depth: i + 2 }));
          const failing = batch([...good.slice(0, 55), { pdu: broken }, ...good.slice(55)], {
            rooms: [{ roomId: OTHER_ROOM, roomVersion: "10", creator: BOB }],
            state: [{ roomId: ROOM, set: state([["m.room.name", "", "ok1"]]) }],
          });
          const err = await s.events.persistEvents(failing).then(
            () => assert.fail("a row with a null sender must be refused"),
            (e: unknown) => e,
          );
          assert.ok(err instanceof ConstraintViolationError, `a ConstraintViolationError, got ${String(err)}`);
          assert.ok(err instanceof StorageError);
          assert.deepEqual(await s.events.haveEvents([...good.map((g) => eid(g.id)), eid("broken")]), new Set());
          assert.equal(await s.rooms.getRoom(OTHER_ROOM), null);
          assert.deepEqual(await s.rooms.getCurrentState(ROOM), new Map());
          assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("first")]);
          // Positions the failed batch allocated may be skipped (holes), but nothing of it is ever visible.
          const committed = await s.events.maxStreamOrdering();
          assert.ok(committed >= r0.maxOrdering);
          assert.deepEqual(await s.events.getStreamEvents({ from: r0.maxOrdering, to: committed, limit: 100 }), []);
          const r1 = await s.events.persistEvents(batch([{ id: "ok1", prev: ["first"] }]));
          assert.ok(r1.orderings.get(eid("ok1"))! > r0.maxOrdering, "the store works after the failed batch");
        });
      });

      it("persists a batch larger than one IN list (1,200 events) and reads it back", async () => {
        await withStorage(async (s) => {
          const specs: PduSpec[] = Array.from({ length: 1200 }, (_, i) => ({ id: `e${i}`, prev: i === 0 ? [] : [`e${i - 1}`], depth: i + 1 }));
          const r = await s.events.persistEvents(batch(specs));
          assert.equal(r.orderings.size, 1200);
          const ids = specs.map((x) => eid(x.id));
          assert.equal((await s.events.haveEvents(ids)).size, 1200);
          assert.equal((await s.events.getPdus(ids)).size, 1200);
          assert.deepEqual(await s.rooms.getForwardExtremities(ROOM), [eid("e1199")]);
          const again = await s.events.persistEvents(batch(specs));
          assert.equal(again.alreadyKnown.length, 1200);
        });
      });
    });

    describe("RoomStore", () => {
      it("records rooms with their events, and keeps the first record of a known room", async () => {
        await withStorage(async (s) => {
          assert.equal(await s.rooms.getRoom(ROOM), null);
          await s.events.persistEvents(batch([{ id: "create" }], { rooms: [{ roomId: ROOM, roomVersion: "10", creator: ALICE }] }));
          assert.deepEqual(await s.rooms.getRoom(ROOM), { roomId: ROOM, roomVersion: "10", creator: ALICE });
          await s.events.persistEvents(batch([], { rooms: [{ roomId: ROOM, roomVersion: "11", creator: BOB }] }));
          assert.deepEqual(await s.rooms.getRoom(ROOM), { roomId: ROOM, roomVersion: "10", creator: ALICE });
        });
      });

      it("updates current state with its events: set, replace and remove", async () => {
        await withStorage(async (s) => {
          await s.events.persistEvents(
            batch([{ id: "create", type: "m.room.create", stateKey: "" }, { id: "name1", type: "m.room.name", stateKey: "" }], {
              state: [{ roomId: ROOM, set: state([["m.room.create", "", "create"], ["m.room.name", "", "name1"]]) }],
            }),
          );
          assert.deepEqual(await s.rooms.getCurrentState(ROOM), state([["m.room.create", "", "create"], ["m.room.name", "", "name1"]]));
          assert.equal(await s.rooms.getCurrentStateEventId(ROOM, "m.room.name", ""), eid("name1"));
          assert.equal(await s.rooms.getCurrentStateEventId(ROOM, "m.room.topic", ""), null);

          await s.events.persistEvents(batch([{ id: "name2", type: "m.room.name", stateKey: "" }], { state: [{ roomId: ROOM, set: state([["m.room.name", "", "name2"]]) }] }));
          assert.equal(await s.rooms.getCurrentStateEventId(ROOM, "m.room.name", ""), eid("name2"));
          assert.equal((await s.rooms.getCurrentState(ROOM)).size, 2);

          await s.events.persistEvents(batch([], { state: [{ roomId: ROOM, set: new Map(), remove: [stateKeyOf("m.room.name", "")] }] }));
          assert.deepEqual(await s.rooms.getCurrentState(ROOM), state([["m.room.create", "", "create"]]));

          await s.events.persistEvents(batch([], { state: [{ roomId: ROOM, replace: true, set: state([["m.room.name", "", "name1"]]) }] }));
          assert.deepEqual(await s.rooms.getCurrentState(ROOM), state([["m.room.name", "", "name1"]]));
          assert.deepEqual(await s.rooms.getCurrentState(OTHER_ROOM), new Map());
        });
      });

      it("finds the rooms where a user's current membership is join", async () => {
        await withStorage(async (s) => {
          const member = (id: string, room: RoomId, user: UserId, membership: string): PduSpec => ({ id, room, type: "m.room.member", stateKey: user, sender: user, content: { membership } });
          await s.events.persistEvents(
            batch([member("j1", ROOM, ALICE, "join"), member("j2", OTHER_ROOM, ALICE, "join"), member("j3", ROOM, BOB, "join")], {
              state: [
                { roomId: ROOM, set: state([["m.room.member", ALICE, "j1"], ["m.room.member", BOB, "j3"]]) },
                { roomId: OTHER_ROOM, set: state([["m.room.member", ALICE, "j2"]]) },
              ],
            }),
          );
          assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "join"), [OTHER_ROOM, ROOM].sort());
          await s.events.persistEvents(batch([member("l1", ROOM, ALICE, "leave")], { state: [{ roomId: ROOM, set: state([["m.room.member", ALICE, "l1"]]) }] }));
          assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "join"), [OTHER_ROOM]);
          assert.deepEqual(await s.rooms.getRoomsForUser(ALICE, "leave"), [ROOM]);
          assert.deepEqual(await s.rooms.getRoomsForUser(BOB, "join"), [ROOM]);
        });
      });
    });

    roomConformance(withStorage, () => target.fresh(), reopenSkip);
    outboundConformance(withStorage, () => target.fresh(), reopenSkip);
    roomClientConformance(withStorage);
    relationConformance(withStorage);
    mediaConformance(withStorage);
    adminConformance(withStorage);
    slidingSyncConformance(withStorage);
    uiaReportConformance(withStorage, () => target.fresh(), reopenSkip);
    pusherConformance(withStorage);
    pushActionConformance(withStorage);
    deviceFederationConformance(withStorage);

    describe("UserStore", () => {
      it("creates a user with a profile and refuses the same id again with a UniqueViolationError, not a driver error", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h1", createdTs: NOW, displayname: "alice" });
          assert.deepEqual(await s.users.getUser(ALICE), { userId: ALICE, passwordHash: "h1", createdTs: NOW, admin: false, deactivated: false });
          assert.deepEqual(await s.users.getProfile(ALICE), { displayname: "alice", avatarUrl: null });
          const err = await s.users.createUser({ userId: ALICE, passwordHash: "h2", createdTs: NOW + 1 }).then(
            () => assert.fail("a second user with the same id must be refused"),
            (e: unknown) => e,
          );
          assert.ok(err instanceof UniqueViolationError, `a UniqueViolationError, got ${String(err)}`);
          assert.equal(err.what, "user");
          assert.ok(err.cause !== undefined, "the driver's error is kept as the cause");
          assert.equal((await s.users.getUser(ALICE))?.passwordHash, "h1", "the failed create changed nothing");
          assert.equal(await s.users.getUser(BOB), null);
          assert.equal(await s.users.getProfile(BOB), null);
        });
      });

      it("records admins and password changes", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: null, createdTs: NOW, admin: true });
          assert.equal((await s.users.getUser(ALICE))?.admin, true);
          assert.equal((await s.users.getUser(ALICE))?.passwordHash, null);
          await s.users.setPasswordHash(ALICE, "new");
          assert.equal((await s.users.getUser(ALICE))?.passwordHash, "new");
        });
      });

      it("changes only the profile fields given", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          assert.deepEqual(await s.users.getProfile(ALICE), { displayname: null, avatarUrl: null });
          await s.users.setProfile(ALICE, { displayname: "Alice" });
          await s.users.setProfile(ALICE, { avatarUrl: "mxc://zion.test/abc" });
          assert.deepEqual(await s.users.getProfile(ALICE), { displayname: "Alice", avatarUrl: "mxc://zion.test/abc" });
          await s.users.setProfile(ALICE, { displayname: null });
          assert.deepEqual(await s.users.getProfile(ALICE), { displayname: null, avatarUrl: "mxc://zion.test/abc" });
        });
      });

      it("logs in a device with an access token, resolves the token and logs it out", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", deviceDisplayName: "phone", accessToken: "syt_token_1", ip: "127.0.0.9", nowTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "DEV2", accessToken: "syt_token_2", validUntilTs: NOW + 1000, nowTs: NOW + 5 });
          const owner = { deactivated: false, replacesRefreshToken: false };
          assert.deepEqual(await s.users.getAccessTokenOwner("syt_token_1"), { userId: ALICE, deviceId: "DEV1", validUntilTs: null, ...owner });
          assert.deepEqual(await s.users.getAccessTokenOwner("syt_token_2"), { userId: ALICE, deviceId: "DEV2", validUntilTs: NOW + 1000, ...owner });
          assert.equal(await s.users.getAccessTokenOwner("syt_unknown"), null);
          const devices = await s.users.getDevices(ALICE);
          assert.deepEqual(devices[0], { userId: ALICE, deviceId: "DEV1", displayName: "phone", createdTs: NOW, lastSeenTs: NOW, lastSeenIp: "127.0.0.9" });
          assert.equal(await s.users.deleteAccessToken("syt_token_1"), true);
          assert.equal(await s.users.deleteAccessToken("syt_token_1"), false);
          assert.equal(await s.users.getAccessTokenOwner("syt_token_1"), null);
          assert.notEqual(await s.users.getAccessTokenOwner("syt_token_2"), null);
        });
      });

      it("replaces a device's tokens when a login names that device again, keeping its name", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", deviceDisplayName: "phone", accessToken: "old", refreshToken: "old-r", nowTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", deviceDisplayName: "ignored", accessToken: "new", nowTs: NOW + 5 });
          assert.equal(await s.users.getAccessTokenOwner("old"), null);
          assert.equal((await s.users.getAccessTokenOwner("new"))?.deviceId, "DEV1");
          assert.equal(await s.users.refreshLogin({ refreshToken: "old-r", newAccessToken: "x", newRefreshToken: "y", validUntilTs: null, nowTs: NOW }), null);
          assert.deepEqual((await s.users.getDevices(ALICE)).map((d) => [d.deviceId, d.displayName, d.lastSeenTs]), [["DEV1", "phone", NOW + 5]]);
        });
      });

      it("records a device-list change for a login that creates a device, none for one that reuses it", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          const start = await s.e2ee.maxDeviceListPosition();
          assert.equal(await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", accessToken: "t1", nowTs: NOW }), true);
          const afterNew = await s.e2ee.maxDeviceListPosition();
          assert.ok(afterNew > start);
          assert.deepEqual((await s.e2ee.deviceListChangesSince(start, afterNew)).map((c) => c.userId), [ALICE]);
          assert.equal(await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", accessToken: "t2", nowTs: NOW + 1 }), false);
          assert.equal(await s.e2ee.maxDeviceListPosition(), afterNew, "a reused device is no change");
          await assert.rejects(s.users.createLogin({ userId: ALICE, deviceId: "DEV2", accessToken: "t2", nowTs: NOW + 2 }), UniqueViolationError);
          assert.equal(await s.e2ee.maxDeviceListPosition(), afterNew, "a refused login records nothing");
        });
      });

      it("creates a user with its first login in one transaction, and writes neither when the id is taken", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW }, { userId: ALICE, deviceId: "D", accessToken: "t1", nowTs: NOW });
          assert.equal((await s.users.getAccessTokenOwner("t1"))?.userId, ALICE);
          await assert.rejects(s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW }, { userId: ALICE, deviceId: "E", accessToken: "t2", nowTs: NOW }), UniqueViolationError);
          assert.equal(await s.users.getAccessTokenOwner("t2"), null);
          assert.deepEqual((await s.users.getDevices(ALICE)).map((d) => d.deviceId), ["D"]);
        });
      });

      it("refreshes a login: new pair on the same device, old access token revoked, old refresh token kept until the new pair is used", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "D", accessToken: "a1", refreshToken: "r1", validUntilTs: NOW + 10, nowTs: NOW });
          const refresh = (from: string, a: string, r: string) => s.users.refreshLogin({ refreshToken: from, newAccessToken: a, newRefreshToken: r, validUntilTs: NOW + 20, nowTs: NOW + 1 });
          assert.equal(await refresh("unknown", "x", "y"), null);
          assert.equal(await s.users.getAccessTokenOwner("x"), null, "an unknown refresh token writes nothing");
          assert.deepEqual(await refresh("r1", "a2", "r2"), { userId: ALICE, deviceId: "D" });
          assert.equal(await s.users.getAccessTokenOwner("a1"), null);
          assert.deepEqual(await s.users.getAccessTokenOwner("a2"), { userId: ALICE, deviceId: "D", validUntilTs: NOW + 20, deactivated: false, replacesRefreshToken: true });
          // The response was lost: r1 still works once more.
          assert.deepEqual(await refresh("r1", "a3", "r3"), { userId: ALICE, deviceId: "D" });
          // The client uses a3: r1 is retired, and the mark is cleared.
          await s.users.retireReplacedRefreshToken("a3");
          assert.equal((await s.users.getAccessTokenOwner("a3"))?.replacesRefreshToken, false);
          assert.equal(await refresh("r1", "a4", "r4"), null);
          // Using r3 to refresh revokes a3.
          assert.notEqual(await refresh("r3", "a5", "r5"), null);
          assert.equal(await s.users.getAccessTokenOwner("a3"), null);
          // Logging out a5 revokes r5 with it.
          assert.equal(await s.users.deleteAccessToken("a5"), true);
          assert.equal(await refresh("r5", "a6", "r6"), null);
        });
      });

      it("gets, renames and deletes devices in bulk, ignoring unknown ids", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createUser({ userId: BOB, passwordHash: "h", createdTs: NOW });
          for (const d of ["A", "B", "C"]) await s.users.createLogin({ userId: ALICE, deviceId: d, accessToken: `t${d}`, refreshToken: `r${d}`, nowTs: NOW });
          await s.users.createLogin({ userId: BOB, deviceId: "A", accessToken: "bob", nowTs: NOW });
          assert.equal(await s.users.getDevice(ALICE, "Z"), null);
          assert.equal(await s.users.setDeviceDisplayName(ALICE, "A", "laptop"), true);
          assert.equal(await s.users.setDeviceDisplayName(ALICE, "Z", "nothing"), false);
          assert.equal((await s.users.getDevice(ALICE, "A"))?.displayName, "laptop");
          assert.equal(await s.users.deleteDevices(ALICE, ["A", "B", "Z"]), 2);
          assert.equal(await s.users.getAccessTokenOwner("tA"), null);
          assert.equal(await s.users.refreshLogin({ refreshToken: "rB", newAccessToken: "x", newRefreshToken: "y", validUntilTs: null, nowTs: NOW }), null);
          assert.equal((await s.users.getAccessTokenOwner("bob"))?.userId, BOB, "another user's device of the same id is untouched");
          assert.equal(await s.users.deleteAllDevices(ALICE), 1);
          assert.deepEqual(await s.users.getDevices(ALICE), []);
          assert.equal(await s.users.getAccessTokenOwner("tC"), null);
        });
      });

      it("changes a password and logs out every other device in the same transaction", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "old", createdTs: NOW });
          for (const d of ["A", "B"]) await s.users.createLogin({ userId: ALICE, deviceId: d, accessToken: `t${d}`, nowTs: NOW });
          await s.users.setPasswordHash(ALICE, "new", { keepDeviceId: "A" });
          assert.equal((await s.users.getUser(ALICE))?.passwordHash, "new");
          assert.equal((await s.users.getAccessTokenOwner("tA"))?.deviceId, "A");
          assert.equal(await s.users.getAccessTokenOwner("tB"), null);
          assert.deepEqual((await s.users.getDevices(ALICE)).map((d) => d.deviceId), ["A"]);
          await s.users.setPasswordHash(ALICE, "newer", { keepDeviceId: null });
          assert.deepEqual(await s.users.getDevices(ALICE), []);
        });
      });

      it("refuses an access token that exists already with UniqueViolationError and creates no device", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "DEV1", accessToken: "same", nowTs: NOW });
          const err = await s.users.createLogin({ userId: ALICE, deviceId: "DEV2", accessToken: "same", nowTs: NOW }).then(
            () => assert.fail("a duplicate token must be refused"),
            (e: unknown) => e,
          );
          assert.ok(err instanceof UniqueViolationError);
          assert.equal(err.what, "access token");
          assert.deepEqual((await s.users.getDevices(ALICE)).map((d) => d.deviceId), ["DEV1"], "DEV2 was rolled back with the token");
        });
      });

      it("deletes a device with its tokens, and touches last-seen", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "A", accessToken: "ta", nowTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "B", accessToken: "tb", nowTs: NOW });
          await s.users.touchDevice(ALICE, "B", NOW + 99);
          assert.equal((await s.users.getDevices(ALICE)).find((d) => d.deviceId === "B")?.lastSeenTs, NOW + 99);
          assert.equal(await s.users.deleteDevice(ALICE, "A"), true);
          assert.equal(await s.users.deleteDevice(ALICE, "A"), false);
          assert.equal(await s.users.getAccessTokenOwner("ta"), null);
          assert.equal((await s.users.getAccessTokenOwner("tb"))?.deviceId, "B");
          assert.deepEqual((await s.users.getDevices(ALICE)).map((d) => d.deviceId), ["B"]);
        });
      });

      it("deactivates a user: flag set, devices and tokens gone", async () => {
        await withStorage(async (s) => {
          await s.users.createUser({ userId: ALICE, passwordHash: "h", createdTs: NOW });
          await s.users.createUser({ userId: BOB, passwordHash: "h", createdTs: NOW });
          await s.users.createLogin({ userId: ALICE, deviceId: "A", accessToken: "ta", nowTs: NOW });
          await s.users.createLogin({ userId: BOB, deviceId: "B", accessToken: "tb", nowTs: NOW });
          await s.users.deactivateUser(ALICE);
          assert.equal((await s.users.getUser(ALICE))?.deactivated, true);
          assert.equal(await s.users.getAccessTokenOwner("ta"), null);
          assert.deepEqual(await s.users.getDevices(ALICE), []);
          assert.equal((await s.users.getAccessTokenOwner("tb"))?.userId, BOB, "other users are untouched");
        });
      });
    });

    describe("TransactionStore", () => {
      it("remembers the response per (origin, txn id) and keeps the first when a duplicate stores again", async () => {
        await withStorage(async (s) => {
          const origin = "remote.test" as ServerName;
          assert.equal(await s.transactions.getTransactionResponse(origin, "t1"), null);
          const first = await s.transactions.storeTransactionResponse(origin, "t1", { pdus: { $a: {} } }, NOW);
          assert.deepEqual(first, { response: { pdus: { $a: {} } }, receivedTs: NOW });
          const dup = await s.transactions.storeTransactionResponse(origin, "t1", { pdus: { $a: { error: "other" } } }, NOW + 1);
          assert.deepEqual(dup, first);
          assert.deepEqual(await s.transactions.getTransactionResponse(origin, "t1"), first);
          assert.equal(await s.transactions.getTransactionResponse("other.test" as ServerName, "t1"), null, "txn ids are per origin");
        });
      });

      it("records an inbound transaction's answer in the storage transaction of the events it answers for: both or neither", async () => {
        await withStorage(async (s) => {
          const origin = "remote.test" as ServerName;
          const response = { pdus: { [eid("ta")]: {} } };
          const r = await s.events.persistEvents({ events: [{ pdu: pdu({ id: "ta" }) }], receivedTs: NOW, inboundTxn: { origin, txnId: "w1", response } });
          assert.deepEqual(r.inboundTxn, { response, receivedTs: NOW });
          assert.deepEqual(await s.transactions.getTransactionResponse(origin, "w1"), { response, receivedTs: NOW });
          assert.deepEqual(await s.events.haveEvents([eid("ta")]), new Set([eid("ta")]));
          // A batch that fails (here its outbound queue rows) writes neither its events nor the answer.
          const failing = s.events.persistEvents({
            events: [{ pdu: pdu({ id: "tb" }) }], receivedTs: NOW, inboundTxn: { origin, txnId: "w2", response: { pdus: { [eid("tb")]: {} } } },
            outbound: { destinations: [null as unknown as ServerName], eventIds: [eid("tb")] },
          });
          await assert.rejects(failing, (e: unknown) => e instanceof ConstraintViolationError);
          assert.equal(await s.transactions.getTransactionResponse(origin, "w2"), null, "the answer rolled back with the events");
          assert.deepEqual(await s.events.haveEvents([eid("tb")]), new Set());
        });
      });

      it("keeps the answer stored first when a duplicate's batch records another, and returns the one that stands", async () => {
        await withStorage(async (s) => {
          const origin = "remote.test" as ServerName;
          const first = await s.transactions.storeTransactionResponse(origin, "w3", { pdus: { $first: {} } }, NOW);
          const r = await s.events.persistEvents({ events: [{ pdu: pdu({ id: "tc" }) }], receivedTs: NOW + 1, inboundTxn: { origin, txnId: "w3", response: { pdus: { $second: {} } } } });
          assert.deepEqual(r.inboundTxn, first);
          assert.deepEqual(await s.transactions.getTransactionResponse(origin, "w3"), first);
        });
      });

      it("purges records older than a cut-off", async () => {
        await withStorage(async (s) => {
          const origin = "remote.test" as ServerName;
          await s.transactions.storeTransactionResponse(origin, "old", {}, NOW);
          await s.transactions.storeTransactionResponse(origin, "new", {}, NOW + 100);
          assert.equal(await s.transactions.purgeTransactionsBefore(NOW + 50), 1);
          assert.equal(await s.transactions.getTransactionResponse(origin, "old"), null);
          assert.notEqual(await s.transactions.getTransactionResponse(origin, "new"), null);
        });
      });
    });

    describe("DestinationStore", () => {
      const dest = "remote.test" as ServerName;

      it("keeps the start of a failure streak while the interval grows, and clears it on success", async () => {
        await withStorage(async (s) => {
          assert.equal(await s.destinations.getDestination(dest), null);
          const f1 = await s.destinations.recordFailure(dest, NOW, 1000);
          assert.deepEqual(f1, { destination: dest, failureTs: NOW, retryLastTs: NOW, retryIntervalMs: 1000, lastSuccessfulStreamOrdering: null });
          const f2 = await s.destinations.recordFailure(dest, NOW + 1000, 2000);
          assert.equal(f2.failureTs, NOW);
          assert.equal(f2.retryLastTs, NOW + 1000);
          assert.equal(f2.retryIntervalMs, 2000);
          assert.deepEqual(await s.destinations.getDestination(dest), f2);
          await s.destinations.recordSuccess(dest);
          assert.deepEqual(await s.destinations.getDestination(dest), { destination: dest, failureTs: null, retryLastTs: null, retryIntervalMs: 0, lastSuccessfulStreamOrdering: null });
        });
      });

      it("records the last stream ordering a destination received", async () => {
        await withStorage(async (s) => {
          await s.destinations.setLastSuccessfulStreamOrdering(dest, 42);
          assert.equal((await s.destinations.getDestination(dest))?.lastSuccessfulStreamOrdering, 42);
          await s.destinations.recordFailure(dest, NOW, 1000);
          assert.equal((await s.destinations.getDestination(dest))?.lastSuccessfulStreamOrdering, 42, "a failure keeps it");
          await s.destinations.setLastSuccessfulStreamOrdering(dest, 43);
          assert.equal((await s.destinations.getDestination(dest))?.lastSuccessfulStreamOrdering, 43);
        });
      });

      it("lists destinations whose back-off has run out, oldest attempt first", async () => {
        await withStorage(async (s) => {
          await s.destinations.recordFailure("a.test" as ServerName, NOW, 5000);
          await s.destinations.recordFailure("b.test" as ServerName, NOW - 100, 1000);
          await s.destinations.recordFailure("c.test" as ServerName, NOW, 1000);
          await s.destinations.recordSuccess("d.test" as ServerName);
          const due = await s.destinations.getDestinationsDueForRetry(NOW + 1000, 10);
          assert.deepEqual(due.map((d) => d.destination), ["b.test", "c.test"]);
          assert.deepEqual((await s.destinations.getDestinationsDueForRetry(NOW + 1000, 1)).map((d) => d.destination), ["b.test"]);
          assert.deepEqual((await s.destinations.getDestinationsDueForRetry(NOW + 5000, 10)).map((d) => d.destination), ["b.test", "a.test", "c.test"]);
        });
      });
    });

    describeUserStreamStores(target, withStorage);

    describe("concurrent writers", () => {
      it("hands out distinct, rising orderings to batches written at once from two connections", reopenSkip, async () => {
        const db = await target.fresh();
        assert.ok(db.worker, "a target that can be reopened says how another thread opens it");
        await (await db.open()).close(); // migrated once here, so the workers only write
        const results = await inWorkers(db.worker, [
          { kind: "persist", prefix: "p", batches: 20, perBatch: 3 },
          { kind: "persist", prefix: "q", batches: 20, perBatch: 3 },
        ]);
        const all: number[] = [];
        for (const r of results) {
          assert.ok(r.ok, r.ok ? "" : r.error);
          const byId = new Map(r.orderings);
          for (const name of ["p", "q"]) {
            for (let i = 0; i < 20; i++) {
              const o = [0, 1, 2].map((k) => byId.get(`$${name}${i}-${k}`));
              if (o[0] === undefined) continue; // the other worker's batch
              assert.ok(o[0]! < o[1]! && o[1]! < o[2]!, `batch ${name}${i} rises: ${o.join(",")}`);
            }
          }
          all.push(...byId.values());
        }
        assert.equal(all.length, 120);
        assert.equal(new Set(all).size, 120, "no ordering handed out twice");
        const s = await db.open();
        try {
          const committed = await s.events.maxStreamOrdering();
          assert.ok(committed >= Math.max(...all));
          const timeline = await s.events.getRoomEventsBetween(ROOM, 0, committed, 1000);
          assert.equal(timeline.length, 120);
          const seen = timeline.map((e) => e.streamOrdering);
          assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
        } finally {
          await s.close();
        }
      });

      it("stores an event delivered twice at once (two servers sending it) once; the other call reports it known", reopenSkip, async () => {
        const db = await target.fresh();
        const [s1, s2] = await Promise.all([db.open(), db.open()]);
        try {
          for (let round = 0; round < 10; round++) {
            const specs: PduSpec[] = [{ id: `dup${round}-a` }, { id: `dup${round}-b`, prev: [`dup${round}-a`] }];
            const [r1, r2] = await Promise.all([s1!.events.persistEvents(batch(specs)), s2!.events.persistEvents(batch(specs))]);
            assert.equal(r1.orderings.size + r2.orderings.size, 2, "each event written once");
            assert.equal(r1.alreadyKnown.length + r2.alreadyKnown.length, 2);
          }
          const committed = await s1!.events.maxStreamOrdering();
          const stream = await s1!.events.getStreamEvents({ from: 0, to: committed, limit: 100 });
          assert.equal(stream.length, 20, "20 events, each once, all visible below the committed position");
          assert.equal(new Set(stream.map((e) => e.pdu.eventId)).size, 20);
        } finally {
          await Promise.all([s1?.close(), s2?.close()]);
        }
      });

      it("lets only one of two racing creates of a user win; the other gets UniqueViolationError", reopenSkip, async () => {
        const db = await target.fresh();
        const [s1, s2] = await Promise.all([db.open(), db.open()]);
        try {
          const outcomes = await Promise.allSettled([
            s1!.users.createUser({ userId: ALICE, passwordHash: "one", createdTs: NOW }),
            s2!.users.createUser({ userId: ALICE, passwordHash: "two", createdTs: NOW }),
          ]);
          assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
          const lost = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
          assert.ok(lost.reason instanceof UniqueViolationError, `got ${String(lost.reason)}`);
        } finally {
          await Promise.all([s1?.close(), s2?.close()]);
        }
      });
    });
  });
}
