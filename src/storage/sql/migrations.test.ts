import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMigrations, migrationsDir } from "./migrations.js";

describe("loadMigrations", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const folder = (files: string[]): string => {
    const d = mkdtempSync(join(tmpdir(), "zion-migrations-"));
    dirs.push(d);
    for (const f of files) writeFileSync(join(d, f), "SELECT 1;");
    return d;
  };

  it("orders the shipped migrations, 0001 to 0005 without a gap, and includes 0011-relations", () => {
    const names = loadMigrations("sqlite", migrationsDir()).map((m) => m.name);
    assert.deepEqual(names.slice(0, 5), ["0001-initial", "0002-rooms", "0003-accounts", "0004-e2ee", "0005-rooms-client"]);
    assert.ok(names.includes("0011-relations"), names.join(", "));
  });

  it("tolerates only the missing 0008-0010 (written on other branches at the same time); any other gap is refused", () => {
    assert.throws(() => loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0005-e.sql"])), /0004 is missing/);
    assert.deepEqual(loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0004-d.sql", "0005-e.sql"])).map((m) => m.version), [1, 2, 3, 4, 5]);
    assert.throws(() => loadMigrations("sqlite", folder(["0001-a.sql", "0003-c.sql"])), /0002 is missing/);
    assert.deepEqual(loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0004-d.sql", "0005-e.sql", "0006-f.sql", "0007-g.sql", "0011-k.sql"])).map((m) => m.version), [1, 2, 3, 4, 5, 6, 7, 11]);
    assert.throws(() => loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0004-d.sql", "0005-e.sql", "0006-f.sql", "0007-g.sql", "0011-k.sql", "0013-m.sql"])), /0012 is missing/);
    assert.throws(() => loadMigrations("sqlite", folder(["0002-b.sql"])), /0001 is missing/);
  });
});
