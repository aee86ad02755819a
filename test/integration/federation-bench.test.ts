/**
 * The federation benchmark (bench/federation/main.ts, npm run bench:federation) runs end to end in --quick mode
 * against Zion alone, with --profile, and reports: the Markdown file with the machine, the target's version and a
 * row of figures for every workload (state conflicts resolved as expected on every key, the big join's full state
 * counted), the chart as SVG beside it, and Zion's CPU profile beside that. How fast the
 * target is is the report's business, never asserted here. Bad arguments (an unknown target or workload, --profile
 * without Zion, idle without the big join) exit 2 before anything starts.
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

/** The cells (after the target's name) of the `| <label> |` row (`zion` unless given) of the table under `heading`. */
function cells(md: string, heading: string, label = "zion"): string[] {
  const section = md.split(`\n${heading}\n`)[1]?.split("\n## ")[0];
  assert.ok(section, `section ${heading}`);
  const row = section.split("\n").find((l) => l.startsWith(`| ${label} |`));
  assert.ok(row, `a row for ${label} under ${heading}`);
  return row.split("|").slice(2, -1).map((c) => c.trim());
}

/** The numeric cells of the `| <label> |` row of the table under `heading`. */
function zionRow(md: string, heading: string, label = "zion"): number[] {
  const out = cells(md, heading, label).map(Number);
  for (const c of out) assert.ok(Number.isFinite(c) && c >= 0, `numeric cell in ${heading}: ${out.join(" | ")}`);
  return out;
}

describe("federation benchmark harness (--quick, Zion alone)", { timeout: 900_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "zion-fedbench-test-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("runs ingest, fan-out, client load, state conflicts, a big join and idle against Zion and writes the report, its chart and Zion's CPU profile", async () => {
    const r = await run(["--target", "zion", "--quick", "--profile", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(out).sort();
    const md = files.find((f) => f.endsWith(".md"));
    assert.ok(md && /^\d{4}-\d{2}-\d{2}-.+\.md$/.test(md), `a <date>-<machine>.md in ${files.join(", ")}`);
    const base = md.slice(0, -3);
    assert.ok(files.includes(`${base}.svg`), "the chart beside the report");
    assert.ok(files.includes(`${base}-zion.cpuprofile`), "the profile beside the report");
    assert.match(readFileSync(join(out, `${base}.svg`), "utf8"), /^<svg[^>]*>[\s\S]*PDUs\/s[\s\S]*<\/svg>$/);
    assert.ok(Array.isArray((JSON.parse(readFileSync(join(out, `${base}-zion.cpuprofile`), "utf8")) as { nodes?: unknown }).nodes));

    const text = readFileSync(join(out, md), "utf8");
    assert.match(text, /- cores: \d+/);
    assert.match(text, /- load average before the run \(1, 5, 15 min\): [\d.]+, [\d.]+, [\d.]+/);
    assert.match(text, /\| zion \| Zion [^|]+ \| \d+ \| none \|/, "the version, start-up RSS and no errors");
    const ingest = zionRow(text, "## Ingest");
    assert.equal(ingest[0], 500, "all 500 PDUs of the quick run");
    assert.equal(ingest[1], 500, "every PDU accepted");
    assert.ok(ingest[9]! > 0, "the target's peak RSS was read from /proc");
    const fan = zionRow(text, "## Fan-out");
    assert.equal(fan[0], fan[4], "every message reached every remote");
    assert.equal(fan[1], 20, "20 remote servers");
    const load = zionRow(text, "## Client load");
    assert.deepEqual(load.slice(0, 2), [100, 3]);
    const conflicts = zionRow(text, "## State conflicts");
    assert.deepEqual(conflicts.slice(0, 2), [100, 46], "100 events on two forks, 45 members and the power levels in conflict");
    assert.ok(conflicts[2]! > 0 && conflicts[2]! < conflicts[1]!, "each fork wins some keys");
    assert.equal(conflicts[3], 0, "no fork PDU rejected");
    assert.equal(conflicts[6], conflicts[1], "/state converged to the expected resolution on every key");
    const big = cells(text, "## Big join");
    assert.deepEqual(big.slice(0, 3), ["2000", "1996", "yes"], "2,000 state events, 1,996 members, Zion joins partially (federation.partial_joins is on by default)");
    for (const c of big.slice(3)) assert.ok(Number.isFinite(Number(c)) && Number(c) >= 0, `numeric cell in ${big.join(" | ")}`);
    const idle = zionRow(text, "## Idle");
    assert.equal(idle[1], 10, "quick mode idles 10 s");
    assert.ok(idle[2]! > 0, "RSS after the idle wait");
    assert.match(text, /## Ratios\n\nOnly Zion measured/);
    assert.match(text, /## Zion CPU profile/);
    assert.match(text, /!\[PDUs\/s and latency per target\]\(.+\.svg\)/);
  });

  it("with --postgres runs ingest and fan-out again with Zion on PostgreSQL and reports those rows beside SQLite's", async () => {
    const pgOut = mkdtempSync(join(tmpdir(), "zion-fedbench-pg-"));
    try {
      const r = await run(["--target", "zion", "--quick", "--postgres", "--workload", "ingest,fanout", "--net", "127.0.51", "--out", pgOut]);
      assert.equal(r.code, 0, r.stderr);
      const md = readdirSync(pgOut).find((f) => f.endsWith(".md"));
      assert.ok(md);
      const text = readFileSync(join(pgOut, md), "utf8");
      assert.match(text, /--target zion --quick --workload ingest,fanout --postgres`/, "the command line names the workloads it ran");
      assert.match(text, /## Client load\n[\s\S]*?\| zion \| not run \(`--workload ingest,fanout`\) \|/, "a workload left out is reported as not run, not as failed");
      assert.match(text, /\| zion \(PostgreSQL\) \| Zion [^|]+ \| \d+ \| none \|/, "the PostgreSQL run started and had no errors");
      for (const label of ["zion", "zion (PostgreSQL)"]) {
        const ingest = zionRow(text, "## Ingest", label);
        assert.deepEqual(ingest.slice(0, 2), [500, 500], `${label}: every PDU of the quick run accepted`);
        const fan = zionRow(text, "## Fan-out", label);
        assert.equal(fan[0], fan[4], `${label}: every message reached every remote`);
      }
      assert.doesNotMatch(text, /The PostgreSQL runs of ingest and fan-out/, "nothing left unmeasured on PostgreSQL");
    } finally {
      rmSync(pgOut, { recursive: true, force: true });
    }
  });

  it("exits 2 on an unknown target, on --profile without Zion, on an unknown workload and on idle without big-join", async () => {
    const bad = await run(["--target", "conduit", "--out", out]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--target must be zion, synapse, dendrite or all/);
    const prof = await run(["--target", "synapse", "--profile", "--out", out]);
    assert.equal(prof.code, 2);
    assert.match(prof.stderr, /--profile profiles the Zion target/);
    const wl = await run(["--target", "zion", "--workload", "conflicts,bogus", "--out", out]);
    assert.equal(wl.code, 2);
    assert.match(wl.stderr, /--workload must be a comma-separated list of ingest, fanout, client-load, conflicts, big-join, idle/);
    const idle = await run(["--target", "zion", "--workload", "idle", "--out", out]);
    assert.equal(idle.code, 2);
    assert.match(idle.stderr, /--workload idle waits after the big join: include big-join/);
    const pg = await run(["--target", "zion", "--postgres", "--workload", "conflicts", "--out", out]);
    assert.equal(pg.code, 2);
    assert.match(pg.stderr, /--postgres runs ingest and fanout: include one of them in --workload/);
  });
});
