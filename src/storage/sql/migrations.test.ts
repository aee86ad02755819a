import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMigrations, migrationsDir, TOLERATED_GAPS } from "./migrations.js";

describe("loadMigrations", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const folder = (files: string[]): string => {
    const d = mkdtempSync(join(tmpdir(), "zion-migrations-"));
    dirs.push(d);
    for (const f of files) writeFileSync(join(d, f), "SELECT 1;");
    return d;
  };

  it("orders the shipped migrations from 0001 without a gap", () => {
    const versions = loadMigrations("sqlite", migrationsDir()).map((m) => m.version);
    const expected = Array.from({ length: versions[versions.length - 1] ?? 0 }, (_, i) => i + 1).filter((n) => !TOLERATED_GAPS.has(n));
    assert.deepEqual(versions, expected);
    assert.ok(versions.length >= 10, versions.join(", "));
  });

  it("refuses any gap in the numbers", () => {
    assert.throws(() => loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0005-e.sql"])), /0004 is missing/);
    assert.deepEqual(loadMigrations("sqlite", folder(["0001-a.sql", "0002-b.sql", "0003-c.sql", "0004-d.sql", "0005-e.sql"])).map((m) => m.version), [1, 2, 3, 4, 5]);
    assert.throws(() => loadMigrations("sqlite", folder(["0001-a.sql", "0003-c.sql"])), /0002 is missing/);
    assert.throws(() => loadMigrations("sqlite", folder(["0002-b.sql"])), /0001 is missing/);
  });
});
