import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RecordingTrace } from "../trace.js";
import { cachePeriodMs, errorCacheMs, parseWellKnownBody } from "./well-known.js";

const H = 3600_000;
const now = Date.UTC(2026, 0, 1);
const enc = (s: string) => new TextEncoder().encode(s);

describe(".well-known/matrix/server rules", () => {
  it("caches by max-age, then Expires, else 24 h, within 5 min and 48 h (step 5)", () => {
    assert.equal(cachePeriodMs({ "cache-control": "public, max-age=7200" }, now).ms, 2 * H);
    assert.equal(cachePeriodMs({ expires: new Date(now + 3 * H).toUTCString() }, now).ms, 3 * H);
    assert.equal(cachePeriodMs({ "cache-control": "max-age=60", expires: new Date(now + 3 * H).toUTCString() }, now).ms, 5 * 60_000, "max-age wins, floored at 5 min");
    assert.equal(cachePeriodMs({}, now).ms, 24 * H);
    assert.equal(cachePeriodMs({ "cache-control": "max-age=999999999" }, now).ms, 48 * H);
    assert.equal(cachePeriodMs({ "cache-control": "no-store" }, now).ms, 5 * 60_000);
  });

  it("backs off errors exponentially up to an hour (step 5)", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((n) => errorCacheMs(n) / 60_000), [2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it("accepts m.server by the server-name grammar and explains every refusal (step 4)", () => {
    const t = new RecordingTrace();
    const ok = parseWellKnownBody(enc('{"m.server": "matrix.example.org:443"}'), t);
    assert.ok(ok.ok && ok.delegated.host === "matrix.example.org" && ok.delegated.port === 443);
    const cases: [string, RegExp][] = [
      ["not json", /not JSON/],
      ["[1]", /not an object/],
      ["{}", /no "m.server"/],
      ['{"m.server": 5}', /not a string/],
      ['{"m.server": "https://matrix.example.org"}', /not a valid server name/],
      ['{"m.homeserver": {"base_url": "https://x"}}', /client well-known/],
    ];
    for (const [body, re] of cases) {
      const v = parseWellKnownBody(enc(body), new RecordingTrace());
      assert.equal(v.ok, false, body);
      if (!v.ok) assert.match(v.reason, re, body);
    }
  });
});
