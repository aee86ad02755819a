import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkServerName, parseServerName } from "./server-name.js";
import { MatrixError } from "../errors.js";

describe("checkServerName", () => {
  const valid: Array<[string, string, number | undefined]> = [
    ["matrix.org", "dns", undefined],
    ["matrix.org:8888", "dns", 8888],
    ["1.2.3.4", "ipv4", undefined],
    ["1.2.3.4:1234", "ipv4", 1234],
    ["[1234:5678::abcd]", "ipv6", undefined],
    ["[1234:5678::abcd]:5678", "ipv6", 5678],
    ["localhost", "dns", undefined],
    ["127.0.0.2:8448", "ipv4", 8448],
  ];
  for (const [name, kind, port] of valid) {
    it(`accepts the spec example ${name}`, () => {
      const r = checkServerName(name);
      assert.ok(r.ok, !r.ok ? r.reason : "");
      assert.equal(r.value.kind, kind);
      assert.equal(r.value.port, port);
    });
  }
  const invalid = ["", "matrix.org:", "matrix.org:0", "matrix.org:70000", "exa mple.org", "1234:5678::abcd", "[1234:5678::abcd", "ex_ample.org", "[zz::1]", "a.b:12:34"];
  it("accepts a DNS name of 255 characters and rejects 256 (dns-name = 1*255dns-char)", () => {
    assert.equal(checkServerName(`${"a".repeat(251)}.org`).ok, true);
    const r = checkServerName(`${"a".repeat(252)}.org`);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, /255/);
  });
  it("rejects an IPv4-looking name with an octet over 255 rather than treating it as a DNS name", () => {
    assert.equal(checkServerName("1.2.3.256").ok, false);
  });
  for (const name of invalid) {
    it(`rejects ${JSON.stringify(name)} with a reason`, () => {
      const r = checkServerName(name);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.reason.length > 5);
    });
  }
  it("parseServerName refuses a bad name with a typed M_INVALID_PARAM error naming the name and the reason", () => {
    assert.throws(() => parseServerName("ex_ample.org"), (e: unknown) =>
      e instanceof MatrixError && e.errcode === "M_INVALID_PARAM" && e.status === 400 && /"ex_ample\.org"/.test(e.message) && /letters, digits/.test(e.message));
  });
});
