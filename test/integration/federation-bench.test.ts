/**
 * The federation benchmark (bench/federation/main.ts, npm run bench:federation) runs end to end in --quick mode
 * against Zion alone and writes its Markdown report with the expected sections; a target it cannot drive yet answers
 * "not yet" and exits 2. How fast the target is is the report's business, never asserted here.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../bench/federation/main.js");

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("exit", (code) => res({ code, stdout, stderr }));
  });
}

describe("federation benchmark harness (--quick, Zion alone)", { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "zion-fedbench-test-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("runs the ingest workload against Zion and writes bench/results-style <date>-<machine>.md with machine, ingest figures and what is not yet measured", async () => {
    const r = await run(["--target", "zion", "--quick", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(out);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^\d{4}-\d{2}-\d{2}-.+\.md$/);
    const md = readFileSync(join(out, files[0]!), "utf8");
    for (const section of ["## Machine", "## Ingest", "## Not yet"]) assert.ok(md.includes(section), `section ${section}`);
    assert.match(md, /- cores: \d+/);
    assert.match(md, /- load average before the run \(1, 5, 15 min\): [\d.]+, [\d.]+, [\d.]+/);
    assert.match(md, /\| PDUs\/s \| p50 ms \| p90 ms \| p99 ms \| last PDU in \/sync ms \| target CPU s \| target peak RSS MB \| harness CPU s \|/);
    const row = md.split("\n").find((l) => l.startsWith("| zion |"));
    assert.ok(row, "a row for zion");
    const cells = row.split("|").slice(2, -1).map((c) => Number(c.trim()));
    assert.equal(cells[0], 1000, "all 1,000 PDUs of the quick run");
    for (const c of cells) assert.ok(Number.isFinite(c) && c >= 0, `numeric cell in ${row}`);
    assert.ok(cells[9]! > 0, "the target's peak RSS was read from /proc");
  });

  it("answers 'not yet' and exits 2 for Synapse and Dendrite, and exits 2 on an unknown target", async () => {
    for (const t of ["synapse", "dendrite"]) {
      const r = await run(["--target", t, "--out", out]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`target ${t}: not yet`));
    }
    const bad = await run(["--target", "conduit", "--out", out]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--target must be zion, synapse, dendrite or all/);
  });
});
