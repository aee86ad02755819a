/**
 * The storage conformance suite on PostgreSQL: a private server started by
 * test/harness/postgres.ts (or ZION_TEST_PG_URL), one new database per test.
 * PostgreSQL missing is a failure, not a skip.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestPostgres, type TestPostgres } from "../../../test/harness/postgres.js";
import { runStorageConformance } from "../conformance/suite.js";
import { StorageUnavailableError } from "../ports.js";
import { loadMigrations } from "../sql/migrations.js";
import { ROOM_LOCK_CLASS, openPostgresStorage } from "./index.js";
import pg from "pg";
import { pdu, eid } from "../conformance/fixtures.js";
import type { RoomId } from "../../core/ids/index.js";

let server: TestPostgres | undefined;
let starting: Promise<TestPostgres> | undefined;
/** Started on first use (so a start failure fails the tests that need it) and stopped in after(). */
function pgServer(): Promise<TestPostgres> {
  starting ??= startTestPostgres().then((s) => (server = s));
  return starting;
}

before(async () => {
  await pgServer();
}, { timeout: 60_000 });

after(async () => {
  await server?.stop();
}, { timeout: 30_000 });

runStorageConformance({
  name: "postgres",
  async fresh() {
    const db = await (await pgServer()).createDatabase();
    return {
      open: (o) => openPostgresStorage({ ...db, poolMax: 4, ...(o?.migrate === false ? { migrate: false } : {}) }),
      worker: { moduleUrl: new URL("./index.js", import.meta.url).href, exportName: "openPostgresStorage", options: { ...db, poolMax: 4 } },
    };
  },
});

describe("postgres backend specifics", () => {
  it("fails to open with StorageUnavailableError when nothing listens", { timeout: 30_000 }, async () => {
    const pg = await pgServer();
    const db = await pg.createDatabase();
    // A port on our loopback range with no server: connection refused.
    await assert.rejects(openPostgresStorage({ ...db, host: "127.0.7.2", port: 9, connectTimeoutMs: 5000 }), StorageUnavailableError);
  });

  it("connects through a unix socket when host is a directory, as Synapse's psycopg2 does", async (t) => {
    const pg = await pgServer();
    if (pg.socketDir === undefined) return t.skip("ZION_TEST_PG_URL names a TCP server; its socket directory is unknown");
    const db = await pg.createDatabase();
    const s = await openPostgresStorage({ ...db, host: pg.socketDir });
    try {
      await s.users.createUser({ userId: "@sock:zion.test" as never, passwordHash: "h", createdTs: 1 });
      assert.equal((await s.users.getUser("@sock:zion.test" as never))?.passwordHash, "h");
    } finally {
      await s.close();
    }
  });

  it("uses a pool: concurrent reads and writes run on several connections and all succeed", { timeout: 30_000 }, async () => {
    const pg = await pgServer();
    const s = await openPostgresStorage({ ...(await pg.createDatabase()), poolMax: 3 });
    try {
      const writes = Array.from({ length: 30 }, (_, i) => s.transactions.storeTransactionResponse("remote.test" as never, `t${i}`, { i }, i));
      const stored = await Promise.all(writes);
      assert.deepEqual(stored.map((x) => x.response["i"]), Array.from({ length: 30 }, (_, i) => i));
      assert.equal(await s.transactions.purgeTransactionsBefore(30), 30);
    } finally {
      await s.close();
    }
  });
});

describe("postgres: writers of different rooms", () => {
  const ROOM_A = "!a:zion.test" as RoomId;
  const ROOM_B = "!b:zion.test" as RoomId;
  const one = (id: string, room: RoomId) => ({ events: [{ pdu: pdu({ id, room }) }], receivedTs: 1 });

  it("commits a write to room B while a writer of room A is held inside its transaction, and readers wait for A", { timeout: 60_000 }, async () => {
    const server = await pgServer();
    const db = await server.createDatabase();
    const s = await openPostgresStorage({ ...db, poolMax: 4 });
    const holder = new pg.Client(db);
    const observer = new pg.Client(db);
    await Promise.all([holder.connect(), observer.connect()]);
    try {
      await s.events.persistEvents(one("seed", ROOM_B));
      const before = await s.events.maxStreamOrdering();
      // Hold room A's writer lock from outside, as a long write of room A would.
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [ROOM_LOCK_CLASS, ROOM_A]);
      let slowDone = false;
      const slow = s.events.persistEvents(one("a1", ROOM_A)).then((r) => ((slowDone = true), r));
      // Wait until A's writer has claimed its position (it then blocks on the room lock inside its transaction).
      let claim: number | undefined;
      for (let i = 0; i < 500 && claim === undefined; i++) {
        const r = await observer.query("SELECT first_position FROM stream_claims");
        if (r.rows.length > 0) claim = Number(r.rows[0].first_position);
        else await new Promise((res) => setTimeout(res, 10));
      }
      assert.ok(claim !== undefined, "room A's writer claimed a position");
      const fast = await s.events.persistEvents(one("b1", ROOM_B));
      assert.equal(slowDone, false, "room B's write finished while room A's is still held");
      assert.ok(fast.orderings.get(eid("b1"))! > claim!, "B's event took a later position than A's claim");
      const committed = await s.events.maxStreamOrdering();
      assert.equal(committed, claim! - 1, "the committed position stops below A's claim");
      assert.deepEqual(await s.events.getStreamEvents({ from: before, to: committed, limit: 10 }), [], "B's event is not offered to readers yet");
      await holder.query("COMMIT");
      const a = await slow;
      assert.equal(a.orderings.get(eid("a1")), claim);
      const after = await s.events.maxStreamOrdering();
      assert.ok(after >= fast.maxOrdering);
      assert.deepEqual((await s.events.getStreamEvents({ from: before, to: after, limit: 10 })).map((e) => e.pdu.eventId), [eid("a1"), eid("b1")]);
      assert.equal((await observer.query("SELECT count(*)::int AS n FROM stream_claims")).rows[0].n, 0, "claims are gone with their commits");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await Promise.all([holder.end(), observer.end()]);
      await s.close();
    }
  });

  it("ignores and then removes the claim of a writer whose connection is gone", { timeout: 30_000 }, async () => {
    const server = await pgServer();
    const db = await server.createDatabase();
    const s = await openPostgresStorage({ ...db, poolMax: 2 });
    const raw = new pg.Client(db);
    await raw.connect();
    try {
      await s.events.persistEvents(one("x1", ROOM_A));
      const before = await s.events.maxStreamOrdering();
      // A claim left by a crashed writer: its backend (pid 0 never exists) is not in pg_stat_activity.
      await raw.query("INSERT INTO stream_claims (stream_name, first_position, last_position, owner_pid, owner_started) VALUES ('events', $1, $1, 0, 'gone')", [before + 1]);
      await raw.query("UPDATE stream_positions SET position = position + 1 WHERE stream_name = 'events'");
      assert.equal(await s.events.maxStreamOrdering(), before + 1, "a dead writer's claim does not hold readers back");
      await s.events.persistEvents(one("x2", ROOM_B));
      assert.equal((await raw.query("SELECT count(*)::int AS n FROM stream_claims")).rows[0].n, 0, "the next writer reaped it");
    } finally {
      await raw.end();
      await s.close();
    }
  });
});

describe("postgres: migration 0023 (room-list tables)", () => {
  it("backfills each room's activity, bump stamp and state facts from the events' JSON, and the local users' memberships", { timeout: 60_000 }, async () => {
    const db = await (await pgServer()).createDatabase();
    const c = new pg.Client(db);
    await c.connect();
    try {
      const migrations = loadMigrations("postgres");
      for (const m of migrations.filter((x) => x.version <= 22)) await c.query(m.sql);
      const json = (type: string, content: object) => JSON.stringify({ type, content });
      const rows: [string, number, string, string, string | null, string, string, string | null, number, number][] = [
        ["$c", 1, "!r:x", "m.room.create", "", "@a:x", json("m.room.create", { type: "m.space" }), null, 0, 0],
        ["$m", 2, "!r:x", "m.room.message", null, "@a:x", json("m.room.message", { body: "hi" }), null, 0, 0],
        ["$n", 3, "!r:x", "m.room.name", "", "@a:x", json("m.room.name", { name: "Lobby" }), null, 0, 0],
        ["$e", 4, "!r:x", "m.room.encryption", "", "@a:x", json("m.room.encryption", { algorithm: "x" }), null, 0, 0],
        ["$t", 5, "!r:x", "m.room.tombstone", "", "@a:x", json("m.room.tombstone", { replacement_room: "!new:x" }), null, 0, 0],
        ["$rej", 6, "!r:x", "m.room.message", null, "@b:y", json("m.room.message", {}), "auth", 0, 0],
        ["$old", -1, "!r:x", "m.room.message", null, "@b:y", json("m.room.message", {}), null, 0, 1],
        ["$c2", 8, "!s:x", "m.room.create", "", "@b:y", json("m.room.create", { type: 5 }), null, 0, 0],
      ];
      for (const r of rows) {
        await c.query(
          `INSERT INTO events (event_id, stream_ordering, room_id, room_version, type, state_key, sender, depth, origin_server_ts, json, outlier, rejection_reason, received_ts, soft_failed, backfilled)
           VALUES ($1, $2, $3, '10', $4, $5, $6, 1, 1, $7, 0, $8, 1, $9, $10)`, r);
      }
      for (const [r, t, e] of [["!r:x", "m.room.create", "$c"], ["!r:x", "m.room.name", "$n"], ["!r:x", "m.room.encryption", "$e"], ["!r:x", "m.room.tombstone", "$t"], ["!s:x", "m.room.create", "$c2"]]) {
        await c.query("INSERT INTO current_state_events (room_id, type, state_key, event_id) VALUES ($1, $2, '', $3)", [r, t, e]);
      }
      await c.query("INSERT INTO users (user_id, password_hash, created_ts, admin, deactivated) VALUES ('@a:x', NULL, 1, 0, 0)");
      await c.query("INSERT INTO current_memberships (room_id, user_id, membership, event_id, stream_ordering) VALUES ('!r:x', '@a:x', 'join', '$m', 2), ('!s:x', '@b:y', 'join', '$c2', 8)");
      await c.query(migrations.find((x) => x.version === 23)!.sql);
      const rooms = await c.query({ text: "SELECT room_id, stream_ordering::int, bump_stamp::int, room_type, is_encrypted, room_name, tombstone_successor FROM room_list_rooms ORDER BY room_id", rowMode: "array" });
      assert.deepEqual(rooms.rows, [["!r:x", 5, 2, "m.space", 1, "Lobby", "!new:x"], ["!s:x", 8, 8, null, 0, null, null]]);
      const members = await c.query({ text: "SELECT room_id, user_id, membership, state_known FROM room_list_memberships", rowMode: "array" });
      assert.deepEqual(members.rows, [["!r:x", "@a:x", "join", 0]]);
    } finally {
      await c.end();
    }
  });
});
