import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfig, type HomeserverConfig } from "../config/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { runLocalChecks } from "../tester/doctor-local.js";
import { ReportBuilder } from "../tester/report.js";
import { doctorDatabase } from "./federation-tester.js";

describe("the doctor's database check on a real SQLite file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-doctor-db-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function config(db: string): HomeserverConfig {
    return parseConfig(stringify({ server_name: "db.test", database: { name: "sqlite3", args: { database: join(dir, db) } } }), { baseDir: dir });
  }

  async function databaseCheck(cfg: HomeserverConfig) {
    const b = new ReportBuilder("doctor", "db.test", 0);
    await runLocalChecks(cfg, b, { now: Date.now(), database: doctorDatabase(cfg) });
    const c = b.checks.find((x) => x.id === "local.database");
    assert.ok(c, b.checks.map((x) => x.id).join(", "));
    return c;
  }

  it("fails a database file that does not exist yet, saying to start Zion once", async () => {
    const c = await databaseCheck(config("missing.db"));
    assert.equal(c.status, "fail");
    assert.match(c.detail, /does not exist yet/);
    assert.match(c.fix ?? "", /zion start/);
  });

  it("fails a database without the schema and never migrates it itself", async () => {
    await writeFile(join(dir, "empty.db"), "");
    const cfg = config("empty.db");
    const first = await databaseCheck(cfg);
    assert.equal(first.status, "fail");
    assert.match(first.detail, /migrations? (is|are) not applied/);
    const second = await databaseCheck(cfg);
    assert.equal(second.detail, first.detail, "the doctor left the schema as it found it");
  });

  it("passes a database Zion has migrated", async () => {
    const path = join(dir, "migrated.db");
    const storage = await openSqliteStorage({ path, migrate: true });
    await storage.close();
    const c = await databaseCheck(config("migrated.db"));
    assert.equal(c.status, "ok", c.detail);
    assert.match(c.detail, /reachable \(sqlite3\), schema at version (\d+) of \1/);
  });
});
