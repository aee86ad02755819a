import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReportBuilder, exitCodeFor, makeCheck } from "./report.js";
import { ProgressLine, renderHuman, verdictLine } from "./render-human.js";
import { toJsonReport } from "./render-json.js";
import { CATALOGUE } from "./catalogue.js";

function sample() {
  const b = new ReportBuilder("federation-test", "r.test", 1000);
  b.ok("name.valid", "r.test is a valid server name");
  b.warn("well-known.content-type", "Content-Type is text/plain");
  b.fail("conn.tcp", "cannot connect", { address: "127.0.0.1:8448", fix: "Start the server." });
  return b.finish(2000);
}

describe("report and renderers", () => {
  it("gives every warning and failure a fix, from the catalogue when none is given", () => {
    const w = makeCheck("well-known.content-type", "warn", "text/plain");
    assert.equal(w.fix, CATALOGUE["well-known.content-type"].fix);
    assert.equal(makeCheck("name.valid", "ok", "fine").fix, undefined);
    for (const [id, e] of Object.entries(CATALOGUE)) assert.match(e.fix, /\.$/, `${id}'s fix is not a sentence`);
  });

  it("names the host without the port in well-known fixes, and the whole server name elsewhere", () => {
    for (const [name, host] of [["r.test:8448", "r.test"], ["[::1]:8448", "[::1]"], ["r.test", "r.test"]] as const) {
      const b = new ReportBuilder("federation-test", name, 0);
      const c = b.warn("client.well-known", "no file");
      assert.ok(c.fix?.includes(`https://${host}/.well-known/matrix/client`), c.fix);
      assert.ok(!c.fix?.includes("<host>"));
    }
    const reach = new ReportBuilder("federation-test", "r.test:8448", 0).fail("reach-back", "401");
    assert.ok(!reach.fix?.includes("<server_name>"), reach.fix);
  });

  it("says federation is OK only when no check failed, and exits 0 or 1 accordingly", () => {
    const r = sample();
    assert.equal(r.federationOK, false);
    assert.equal(exitCodeFor(r), 1);
    const b = new ReportBuilder("federation-test", "r.test", 0);
    b.warn("well-known.content-type", "text/plain");
    assert.equal(b.finish(1).federationOK, true);
    assert.equal(exitCodeFor(b.finish(1)), 0);
    assert.equal(new ReportBuilder("federation-test", "x", 0).finish(1).federationOK, false, "no checks is not OK");
  });

  it("renders one line per check with ✓/⚠/✗ and the fix below warnings and failures, coloured only when asked", () => {
    const plain = renderHuman(sample(), { colour: false });
    const lines = plain.split("\n");
    assert.equal(lines[0], "Federation test for r.test");
    assert.match(lines[1]!, /^✓ Server name is valid: /);
    assert.match(lines[2]!, /^⚠ \/\.well-known\/matrix\/server Content-Type: /);
    assert.match(lines[3]!, /^ {4}fix: Serve the file with 'Content-Type: application\/json'/);
    assert.equal(lines[4], "✗ TCP connect (127.0.0.1:8448): cannot connect");
    assert.equal(lines[5], "    fix: Start the server.");
    assert.match(plain, /Federation NOT OK: 1 failure, 1 warning\n$/);
    assert.doesNotMatch(plain, /\x1b\[/);
    assert.match(renderHuman(sample(), { colour: true }), /\x1b\[31m✗\x1b\[0m/);
  });

  it("marks a check that depends on a failure as not run because of it, without a fix of its own or a say in the verdict", () => {
    const b = new ReportBuilder("federation-test", "r.test", 0);
    const cert = b.fail("tls.name", "the certificate is for other.test", { address: "127.0.0.1:8448" });
    const v = b.skip("version", cert, "no address accepts a checked connection");
    assert.equal(v.status, "skip");
    assert.equal(v.cause, "Certificate is valid for the expected name (127.0.0.1:8448)");
    assert.equal(v.fix, undefined);
    const r = b.finish(1);
    const text = renderHuman(r, { colour: false });
    assert.match(text, /\n– GET \/_matrix\/federation\/v1\/version: not run because of "Certificate is valid for the expected name \(127\.0\.0\.1:8448\)" \(failed above\): no address accepts a checked connection\n\n/);
    assert.match(text, /Federation NOT OK: 1 failure, 1 check not run\n$/);
    assert.deepEqual(toJsonReport(r).Zion.Summary, { ok: 0, warn: 0, fail: 1, skip: 1 });
  });

  it("agrees in number: 1 warning, 2 warnings, 1 check not run", () => {
    const checks = (n: number) => Array.from({ length: n }, () => makeCheck("well-known.content-type", "warn", "text/plain"));
    assert.equal(verdictLine({ federationOK: true, checks: checks(1) }), "Federation OK (1 warning)");
    assert.equal(verdictLine({ federationOK: true, checks: checks(2) }), "Federation OK (2 warnings)");
    assert.equal(verdictLine({ federationOK: true, checks: [makeCheck("name.valid", "ok", "fine")] }), "Federation OK");
  });

  it("keeps matrix-federation-tester's top-level fields in the JSON and adds the Zion section", () => {
    const j = toJsonReport(sample());
    assert.deepEqual(Object.keys(j), ["WellKnownResult", "DNSResult", "ConnectionReports", "ConnectionErrors", "Version", "FederationOK", "Zion"]);
    assert.equal(j.FederationOK, false);
    assert.deepEqual(j.Zion.Summary, { ok: 1, warn: 1, fail: 1, skip: 0 });
    assert.equal(j.Zion.Checks[2]!.fix, "Start the server.");
  });

  it("draws a progress line only on a terminal, and clears it", () => {
    const out: string[] = [];
    const tty = new ProgressLine({ write: (s: string) => out.push(s), isTTY: true });
    tty.starting("resolving r.test");
    tty.checked(makeCheck("name.valid", "ok", "fine"));
    tty.clear();
    assert.match(out[0]!, /^\r\x1b\[2K. 0 checks done: resolving r\.test$/);
    assert.match(out[1]!, /1 check done: Server name is valid/);
    assert.equal(out[2], "\r\x1b[2K");
    const piped: string[] = [];
    const pipe = new ProgressLine({ write: (s: string) => piped.push(s), isTTY: false });
    pipe.starting("x");
    pipe.clear();
    assert.deepEqual(piped, []);
  });
});
