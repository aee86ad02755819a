import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher } from "./password.js";
import { checkNewPassword } from "./password-policy.js";
import { MatrixError } from "../../../core/errors.js";

describe("scrypt password hashing", () => {
  it("stores the parameters with a fresh salt, verifies the right password only, and NFKC-normalises", async () => {
    const h = scryptHasher({ ln: 10 });
    const a = await h.hash("ﬁsh");
    const b = await h.hash("ﬁsh");
    assert.match(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, "a new salt each time");
    assert.equal(await h.verify("ﬁsh", a), true);
    assert.equal(await h.verify("fish", a), true, "the ligature and its NFKC form are one password");
    assert.equal(await h.verify("fish!", a), false);
  });

  it("verifies hashes made with other parameters (the cost can be raised later) and refuses unknown formats", async () => {
    const old = await scryptHasher({ ln: 11 }).hash("pw");
    assert.equal(await scryptHasher().verify("pw", old), true);
    assert.equal(await scryptHasher().verify("pw", "$2b$12$bcryptbcryptbcryptbcrypt"), false);
    assert.equal(await scryptHasher().verify("pw", old.replace("ln=11", "ln=30")), false, "a cost past the bound is not attempted");
  });
});

describe("new password policy", () => {
  const policy = { enabled: true, minimumLength: 10, requireDigit: true, requireSymbol: true, requireLowercase: true, requireUppercase: true };
  const errcode = (pw: string) => {
    try {
      checkNewPassword(pw, policy);
      return "ok";
    } catch (e) {
      return (e as MatrixError).errcode + ": " + (e as MatrixError).message;
    }
  };
  it("names the rule a password breaks with M_WEAK_PASSWORD", () => {
    assert.match(errcode("Short1!"), /M_WEAK_PASSWORD: password must be at least 10/);
    assert.match(errcode("Longenough!"), /digit/);
    assert.match(errcode("Longenough1"), /symbol/);
    assert.match(errcode("LONGENOUGH1!"), /lower-case/);
    assert.match(errcode("longenough1!"), /upper-case/);
    assert.equal(errcode("Long enough 1"), "ok");
    assert.match(errcode("A1!a" + "x".repeat(600)), /M_INVALID_PARAM/);
  });
});
