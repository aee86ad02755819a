import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TraceStep } from "../../app/federation.js";
import { formatSteps } from "./network.js";

const marks = (lines: string[]) => lines.map((l) => `${l.split(" ")[0]} ${l.split(" ")[1]}`);

describe("formatSteps (zion debug resolve / keys)", () => {
  const absent: TraceStep[] = [
    { check: "name.valid", ok: true, detail: "x.test is a valid server name (dns)" },
    { check: "conn.tcp", ok: false, address: "127.0.0.1:443", detail: "cannot connect", fix: "open 443" },
    { check: "well-known.fetch", ok: false, detail: "GET https://x.test/.well-known/matrix/server failed" },
    { check: "well-known.cache", ok: true, detail: "failure cached for 120 s" },
    { check: "well-known.fetch", ok: true, warn: true, detail: "no usable .well-known; continuing with SRV records (step 4)" },
    { check: "srv.matrix-fed", ok: true, detail: "no SRV record" },
    { check: "dns.host", ok: true, detail: "x.test has 127.0.0.1" },
  ];

  it("marks the failed steps of an absent .well-known as not applying when resolution succeeds, and drops cache lines", () => {
    const lines = formatSteps(absent, true);
    assert.deepEqual(marks(lines), ["✓ name.valid:", "– conn.tcp", "– well-known.fetch:", "– well-known.fetch:", "✓ srv.matrix-fed:", "✓ dns.host:"]);
    assert.match(lines[1]!, /\(optional; did not apply\)$/);
    assert.equal(lines.some((l) => l.includes("fix:") || l.includes("cached")), false);
  });

  it("keeps ✗ for the same steps when resolution failed", () => {
    assert.deepEqual(marks(formatSteps(absent, false)).slice(0, 5), ["✓ name.valid:", "✗ conn.tcp", "✗ well-known.fetch:", "⚠ well-known.fetch:", "✓ srv.matrix-fed:"]);
  });

  it("warns (⚠) about a .well-known file that was served but broken, even when resolution went on without it", () => {
    const broken: TraceStep[] = [
      { check: "name.valid", ok: true, detail: "ok" },
      { check: "well-known.json", ok: false, detail: "the body is not JSON", fix: "Serve JSON" },
      { check: "well-known.fetch", ok: true, warn: true, detail: "no usable .well-known; continuing" },
      { check: "dns.host", ok: true, detail: "x.test has 127.0.0.1" },
    ];
    const lines = formatSteps(broken, true);
    assert.deepEqual(marks(lines), ["✓ name.valid:", "⚠ well-known.json:", "⚠ well-known.fetch:", "✓ dns.host:"]);
    assert.match(lines[1]!, /\n {4}fix: Serve JSON$/);
  });
});
