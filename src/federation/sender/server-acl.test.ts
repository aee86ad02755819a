import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serverAllowedByAcl } from "./server-acl.js";

describe("serverAllowedByAcl", () => {
  it("allows every server when the room has no ACL", () => {
    assert.equal(serverAllowedByAcl(null, "anything.test"), true);
  });
  it("denies a server matching a deny glob even when allow matches it (step 2)", () => {
    assert.equal(serverAllowedByAcl({ allow: ["*"], deny: ["*.evil.test"] }, "a.evil.test"), false);
    assert.equal(serverAllowedByAcl({ allow: ["*"], deny: ["*.evil.test"] }, "good.test"), true);
  });
  it("denies a server no allow glob matches, and everyone when allow is empty (step 3)", () => {
    assert.equal(serverAllowedByAcl({ allow: ["hs?.test"] }, "hs2.test"), true);
    assert.equal(serverAllowedByAcl({ allow: ["hs?.test"] }, "hs10.test"), false);
    assert.equal(serverAllowedByAcl({ deny: [] }, "hs2.test"), false);
  });
  it("matches the name without its port, case-insensitively", () => {
    assert.equal(serverAllowedByAcl({ allow: ["HS2.test"] }, "hs2.test:8448"), true);
  });
  it("denies IP literals when allow_ip_literals is false (step 1)", () => {
    assert.equal(serverAllowedByAcl({ allow: ["*"], allow_ip_literals: false }, "127.0.0.1:8448"), false);
    assert.equal(serverAllowedByAcl({ allow: ["*"], allow_ip_literals: false }, "[::1]:8448"), false);
    assert.equal(serverAllowedByAcl({ allow: ["*"] }, "127.0.0.1"), true);
  });
});
