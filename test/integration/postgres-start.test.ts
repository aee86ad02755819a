/**
 * `database.name: psycopg2` selects PostgreSQL, as in Synapse: the server
 * opens it, applies the migrations at start-up and closes it at stop.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestPostgres, type TestPostgres } from "../harness/postgres.js";
import { startTestServer } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";

describe("start-up on PostgreSQL", () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres();
  });
  after(() => pg?.stop());

  it("opens the psycopg2 database, migrates it and serves /health", { timeout: 60_000 }, async () => {
    const db = await pg.createDatabase("zion_start");
    const zion = await startTestServer({
      config: {
        database: {
          name: "psycopg2",
          args: { host: db.host, port: db.port, user: db.user, ...(db.password ? { password: db.password } : {}), database: db.database, cp_max: 3 },
        },
      },
    });
    try {
      assert.equal(zion.homeserver!.storage.backend, "postgres");
      assert.equal(await zion.homeserver!.storage.isMigrated(), true);
      assert.equal((await httpCall(`${zion.clientUrl}/health`)).body, "OK");
    } finally {
      await zion.stop();
    }
    await assert.rejects(() => zion.homeserver!.storage.ping());
  });

  it("fails start-up with the database named when PostgreSQL refuses the connection", { timeout: 60_000 }, async () => {
    await assert.rejects(
      () => startTestServer({ config: { database: { name: "psycopg2", args: { host: pg.host, port: pg.port, user: "nobody_here", database: "nope" } } } }),
      (e: Error) => /^database \(psycopg2 .*nope\)/.test(e.message),
    );
  });
});
