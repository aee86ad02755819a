/** The spec's event signing vectors (appendices, "Event Signing"), byte for byte. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { signingKeyFromSeed } from "../crypto/keys.js";
import { verifyJsonSignature } from "../crypto/sign.js";
import { decodeBase64 } from "../json/base64.js";
import { canonicalJson } from "../json/canonical.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { hashAndSignEvent } from "./build.js";
import { redactEvent } from "./redact.js";

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../../test/fixtures/signed-json/spec-appendix.json", import.meta.url)), "utf8"),
) as { signing: { seed: string; serverName: string; keyId: string; events: { roomVersion: string; input: JsonObject; signed: JsonObject }[] } };
const { seed, serverName, keyId, events } = fixture.signing;
const key = signingKeyFromSeed(keyId.split(":")[1]!, decodeBase64(seed));

describe("event signing: the specification's test vectors", () => {
  for (const [i, e] of events.entries()) {
    it(`hashes and signs event example ${i + 1} exactly as the spec prints (hashes.sha256 and the signature)`, () => {
      const out = hashAndSignEvent(e.input, roomVersion(e.roomVersion), { serverName, key });
      assert.equal(canonicalJson(out), canonicalJson(e.signed));
    });
    it(`verifies the spec's signature on example ${i + 1} over the redacted event`, () => {
      const redacted = redactEvent(e.signed, roomVersion(e.roomVersion));
      assert.deepEqual(verifyJsonSignature(redacted, serverName, keyId, key.publicKey), { ok: true });
      // the full event's signature does not cover non-essential content, so it does not verify unredacted
      if (JSON.stringify((e.signed["content"] as JsonObject)) !== "{}") {
        assert.equal(verifyJsonSignature(e.signed, serverName, keyId, key.publicKey).ok, false);
      }
    });
  }
});
