import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { publicKeyBase64, signJson, signingKeyFromSeed } from "../core/crypto/index.js";
import type { JsonObject } from "../core/json/types.js";
import { checkServerKeys } from "./key-checks.js";

const NOW = 1_800_000_000_000;
const key = signingKeyFromSeed("k1", randomBytes(32));

function keys(overrides: Partial<JsonObject> = {}, signAs = "hs.test"): JsonObject {
  const body: JsonObject = {
    server_name: "hs.test", valid_until_ts: NOW + 3_600_000, verify_keys: { [key.keyId]: { key: publicKeyBase64(key) } }, old_verify_keys: {},
    ...overrides,
  } as JsonObject;
  return signJson(body, signAs, key);
}

function status(r: ReturnType<typeof checkServerKeys>, id: string) {
  return r.checks.find((c) => c.id === id)?.status;
}

describe("checkServerKeys", () => {
  it("passes keys for the tested name, valid in the future, self-signed with each verify key", () => {
    const r = checkServerKeys(keys(), "hs.test", NOW, "127.0.0.1:8448");
    assert.deepEqual(r.checks.map((c) => [c.id, c.status]), [["keys.server-name", "ok"], ["keys.valid-until", "ok"], ["keys.signature", "ok"]]);
    assert.equal(r.mft.AllChecksOK, true);
    assert.deepEqual(r.verifyKeys, { [key.keyId]: publicKeyBase64(key) });
    assert.ok(r.checks.every((c) => c.address === "127.0.0.1:8448"));
  });

  it("fails a valid_until_ts in the past (or missing), with a fix about the clock and republishing", () => {
    const past = checkServerKeys(keys({ valid_until_ts: NOW - 1 }), "hs.test", NOW, "a:1");
    const c = past.checks.find((x) => x.id === "keys.valid-until")!;
    assert.equal(c.status, "fail");
    assert.match(c.detail, /in the past/);
    assert.match(c.fix ?? "", /clock/);
    assert.equal(past.mft.FutureValidUntilTS, false);
    assert.equal(past.mft.AllChecksOK, false);
    assert.equal(past.verifyKeys, null);
    const missing = checkServerKeys(keys({ valid_until_ts: undefined as never }), "hs.test", NOW, "a:1");
    assert.match(missing.checks.find((x) => x.id === "keys.valid-until")!.detail, /missing/);
  });

  it("fails keys published under another server name and names it in the fix", () => {
    const r = checkServerKeys(keys({ server_name: "other.test" }, "other.test"), "hs.test", NOW, "a:1");
    const c = r.checks.find((x) => x.id === "keys.server-name")!;
    assert.equal(c.status, "fail");
    assert.match(c.fix ?? "", /"other\.test"/);
    assert.equal(r.mft.MatchingServerName, false);
  });

  it("fails a response without an ed25519 key, and one whose key is not 32 bytes", () => {
    const none = checkServerKeys(keys({ verify_keys: {} }), "hs.test", NOW, "a:1");
    assert.equal(status(none, "keys.signature"), "fail");
    assert.equal(none.mft.HasEd25519Key, false);
    assert.equal(none.mft.AllEd25519ChecksOK, null);
    const short = checkServerKeys(keys({ verify_keys: { "ed25519:k1": { key: "AAAA" } } }), "hs.test", NOW, "a:1");
    assert.equal(status(short, "keys.signature"), "fail");
    assert.deepEqual(short.mft.Ed25519Checks["ed25519:k1"], { ValidEd25519: false, MatchingSignature: false });
  });

  it("fails a self-signature that does not verify after the body changed", () => {
    const tampered = { ...keys(), valid_until_ts: NOW + 7_200_000 };
    const r = checkServerKeys(tampered, "hs.test", NOW, "a:1");
    assert.equal(status(r, "keys.signature"), "fail");
    assert.deepEqual(r.mft.Ed25519Checks[key.keyId], { ValidEd25519: true, MatchingSignature: false });
    assert.equal(r.mft.AllEd25519ChecksOK, false);
  });
});
