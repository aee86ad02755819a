/**
 * "Bad input" (issue 3): whatever is fed to the event and signed-JSON entry
 * points, a rejection is a typed MatrixError with a reason, never a bare
 * TypeError/RangeError from deep inside; checkPdu and verifyEventsBatch never
 * throw at all (they return verdicts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bounded, PROPERTY_LIMITS } from "../../../test/gen/property.js";
import { MatrixError } from "../errors.js";
import { signJson, verifyJsonSignature } from "../crypto/sign.js";
import { canonicalJson } from "../json/canonical.js";
import { parseJsonStrict } from "../json/parse.js";
import type { JsonObject } from "../json/types.js";
import { ROOM_VERSIONS, roomVersion } from "../room-versions/rules.js";
import { checkPdu, verifyEventsBatch } from "./check.js";
import { computeEventId, contentHash, referenceHash } from "./hashes.js";
import { parsePdu } from "./parse.js";
import { redactEvent } from "./redact.js";
import { testKey } from "./test-keys.js";

const versions = [...ROOM_VERSIONS.keys()];
const key = testKey("a.test");

function typedOrFine(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MatrixError, `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.length > 0);
  }
}

/** Event-shaped junk: the right keys with arbitrary values, plus arbitrary extra keys. */
const eventish = fc.record(
  {
    type: fc.anything(), sender: fc.anything(), room_id: fc.anything(), content: fc.anything(), depth: fc.anything(),
    origin_server_ts: fc.anything(), hashes: fc.anything(), signatures: fc.anything(), prev_events: fc.anything(),
    auth_events: fc.anything(), state_key: fc.anything(), event_id: fc.anything(), redacts: fc.anything(), unsigned: fc.anything(),
  },
  { requiredKeys: [] },
);
const input = fc.oneof(fc.anything(), eventish);

describe("bad input to the event core", () => {
  it("parsePdu, redactEvent, hashes and ids throw only typed errors", () => {
    fc.assert(
      fc.property(bounded(input), fc.constantFrom(...versions), (raw, version) => {
        const rules = roomVersion(version);
        typedOrFine(() => parsePdu(raw, rules));
        typedOrFine(() => redactEvent(raw as JsonObject, rules));
        typedOrFine(() => contentHash(raw as JsonObject, rules));
        typedOrFine(() => referenceHash(raw as JsonObject, rules));
        typedOrFine(() => computeEventId(raw as JsonObject, rules));
      }),
      { numRuns: 1000, ...PROPERTY_LIMITS },
    );
  });

  it("checkPdu and verifyEventsBatch never throw and fail the format check on junk", () => {
    fc.assert(
      fc.property(bounded(fc.array(input, { maxLength: 5 })), fc.constantFrom(...versions), (raws, version) => {
        const rules = roomVersion(version);
        const verdicts = verifyEventsBatch(raws.map((raw) => ({ raw, rules })), () => undefined);
        assert.equal(verdicts.length, raws.length);
        for (const v of verdicts) assert.equal(v.ok, false); // no key is known, so nothing passes
        for (const raw of raws) assert.equal(checkPdu(raw, rules, () => key.publicKey).ok, false);
      }),
      { numRuns: 500, ...PROPERTY_LIMITS },
    );
  });

  it("signing, verifying, canonical JSON and strict parsing throw only typed errors", () => {
    fc.assert(
      fc.property(bounded(fc.anything()), bounded(fc.string()), (v, text) => {
        typedOrFine(() => canonicalJson(v));
        typedOrFine(() => signJson(v as JsonObject, "a.test", key));
        typedOrFine(() => parseJsonStrict(text));
        const r = verifyJsonSignature(v as JsonObject, "a.test", key.keyId, key.publicKey);
        assert.equal(r.ok, false);
      }),
      { numRuns: 1000, ...PROPERTY_LIMITS },
    );
  });
});
