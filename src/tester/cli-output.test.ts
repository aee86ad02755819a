import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { printReport, progressFor } from "./cli-output.js";
import { ReportBuilder } from "./report.js";

function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { write: (x: string) => out.push(x), isTTY } };
}

function report() {
  const b = new ReportBuilder("federation-test", "c.test", 0);
  b.ok("name.valid", "fine");
  b.fail("conn.tcp", "refused", { fix: "Start it." });
  return b.finish(1);
}

describe("CLI output", () => {
  it("colours the report only when stdout is a terminal, and never with --no-color or NO_COLOR", () => {
    const saved = process.env["NO_COLOR"];
    try {
      delete process.env["NO_COLOR"];
      const tty = stream(true);
      assert.equal(printReport(report(), { stdout: tty.s, stderr: stream(true).s }, {}), 1);
      assert.match(tty.out.join(""), /\x1b\[31m✗/);
      const pipe = stream(false);
      printReport(report(), { stdout: pipe.s, stderr: stream(true).s }, {});
      assert.doesNotMatch(pipe.out.join(""), /\x1b\[/);
      const noColor = stream(true);
      printReport(report(), { stdout: noColor.s, stderr: stream(true).s }, { color: false });
      assert.doesNotMatch(noColor.out.join(""), /\x1b\[/);
      process.env["NO_COLOR"] = "1";
      const env = stream(true);
      printReport(report(), { stdout: env.s, stderr: stream(true).s }, {});
      assert.doesNotMatch(env.out.join(""), /\x1b\[/);
    } finally {
      if (saved === undefined) delete process.env["NO_COLOR"];
      else process.env["NO_COLOR"] = saved;
    }
  });

  it("draws the progress line on a terminal's stderr, never for --json, and clears it before the report", () => {
    const err = stream(true);
    const out = stream(true);
    const p = progressFor({ stdout: out.s, stderr: err.s }, {});
    p.onStart("resolving c.test");
    assert.match(err.out.join(""), /resolving c\.test/);
    printReport(report(), { stdout: out.s, stderr: err.s }, {}, p.line);
    assert.equal(err.out[err.out.length - 1], "\r\x1b[2K", "the line is erased before the report prints");
    const jsonErr = stream(true);
    const j = progressFor({ stdout: stream(true).s, stderr: jsonErr.s }, { json: true });
    j.onStart("resolving c.test");
    assert.deepEqual(jsonErr.out, []);
  });
});
