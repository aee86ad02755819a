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
import { openPostgresStorage } from "./index.js";

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
    return { open: (o) => openPostgresStorage({ ...db, poolMax: 4, ...(o?.migrate === false ? { migrate: false } : {}) }) };
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
