import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serverAllowedByAcl } from "./server-acl.js";

describe("m.room.server_acl (serverAllowedByAcl)", () => {
  const allowed = (content: Parameters<typeof serverAllowedByAcl>[0], server: string) => serverAllowedByAcl(content, server).allowed;

  it("allows everyone when the room has no ACL", () => {
    assert.equal(allowed(undefined, "evil.test"), true);
  });
  it("denies everyone when allow is absent or empty", () => {
    assert.equal(allowed({}, "a.test"), false);
    assert.equal(allowed({ allow: [] }, "a.test"), false);
  });
  it("lets deny win over allow, and compares without the port, case-insensitively", () => {
    const acl = { allow: ["*"], deny: ["*.evil.test", "bad?.test"] };
    assert.equal(allowed(acl, "good.test:8448"), true);
    assert.equal(allowed(acl, "x.EVIL.test"), false);
    assert.equal(allowed(acl, "bad1.test:443"), false);
    assert.equal(allowed(acl, "bad12.test"), true, "? matches exactly one character");
  });
  it("denies IP literals when allow_ip_literals is false, IPv6 in brackets too", () => {
    const acl = { allow: ["*"], allow_ip_literals: false };
    assert.equal(allowed(acl, "127.0.0.1:8448"), false);
    assert.equal(allowed(acl, "[::1]:8448"), false);
    assert.equal(allowed({ allow: ["*"] }, "127.0.0.1"), true, "allowed by default");
  });
  it("treats glob metacharacters other than * and ? literally, and ignores entries that are not strings", () => {
    assert.equal(allowed({ allow: ["a.test"] }, "aXtest"), false, "'.' is a dot");
    assert.equal(allowed({ allow: [5, null, "a.test"] } as never, "a.test"), true);
  });
});
