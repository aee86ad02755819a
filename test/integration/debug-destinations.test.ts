/** `zion debug destinations -c FILE` as a child process over a SQLite database the sender wrote. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerName } from "../../src/core/ids/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { runDebug } from "../harness/cli.js";

describe("zion debug destinations", () => {
  let dir: string;
  let configPath: string;
  const NOW = 1_764_000_000_000;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-debug-dest-"));
    const dbPath = join(dir, "homeserver.db");
    configPath = join(dir, "homeserver.yaml");
    await writeFile(configPath, JSON.stringify({
      server_name: "zion.test",
      public_baseurl: "http://127.0.0.1/",
      listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] }],
      signing_key_path: join(dir, "signing.key"),
      database: { name: "sqlite3", args: { database: dbPath } },
      media_store_path: join(dir, "media"),
      trusted_key_servers: [],
    }));
    const s = await openSqliteStorage({ path: dbPath });
    await s.outbound.enqueueEdus(["down.test" as ServerName, "up.test" as ServerName], { edu_type: "m.direct_to_device", content: {} });
    await s.outbound.enqueueEdus(["down.test" as ServerName], { edu_type: "m.direct_to_device", content: {} });
    await s.outbound.recordFailure("down.test" as ServerName, NOW, 600_000, "PUT /_matrix/federation/v1/send/z1 to down.test: connect ECONNREFUSED 127.0.9.9:8448");
    const t = await s.outbound.nextTransaction("up.test" as ServerName, { maxPdus: 50, maxEdus: 100 }, NOW);
    await s.outbound.completeTransaction("up.test" as ServerName, t!.txnId, NOW + 5);
    await s.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("lists each destination's queue, last success, back-off and last error as JSON (exit 0)", () => {
    const r = runDebug(["destinations", "-c", configPath], "");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out, [
      {
        destination: "down.test", queued_pdus: 0, queued_edus: 2, in_flight_txn_id: null, last_success: null,
        failing_since: new Date(NOW).toISOString(), retry_interval_ms: 600_000, next_attempt: new Date(NOW + 600_000).toISOString(),
        last_error: "PUT /_matrix/federation/v1/send/z1 to down.test: connect ECONNREFUSED 127.0.9.9:8448",
      },
      {
        destination: "up.test", queued_pdus: 0, queued_edus: 0, in_flight_txn_id: null, last_success: new Date(NOW + 5).toISOString(),
        failing_since: null, retry_interval_ms: 0, next_attempt: null, last_error: null,
      },
    ]);
  });

  it("prints an aligned table with --table", () => {
    const r = runDebug(["destinations", "-c", configPath, "--table"], "");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^destination\s+queued_pdus\s+queued_edus\s+last_success/);
    assert.match(lines[1]!, /^down\.test\s+0\s+2\s+-\s+2025-/);
    assert.equal(lines.length, 3);
  });

  it("exits 2 naming the file when the config cannot be read", () => {
    const r = runDebug(["destinations", "-c", join(dir, "missing.yaml")], "");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.yaml/);
  });
});
