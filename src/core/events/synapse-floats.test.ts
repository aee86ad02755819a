/**
 * Events with floats in room versions 1, 3 and 5, built, hashed and signed by
 * Synapse's own code (test/fixtures/synapse/floats, see its README). Zion must
 * compute the same content hash, reference hash and event id, and accept the
 * signature, both from the text Synapse puts on the wire and from the fixture
 * file; it can only do so by keeping each number's literal (core/json/numbers.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeBase64, encodeBase64 } from "../json/base64.js";
import { canonicalJson } from "../json/canonical.js";
import { parseJsonStrict } from "../json/parse.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { checkPdu, verifyEventsBatch } from "./check.js";
import { computeEventId, contentHash, referenceHash } from "./hashes.js";
import { redactEvent } from "./redact.js";

const dir = fileURLToPath(new URL("../../../../test/fixtures/synapse/floats/", import.meta.url));
const LOOSE = { strictIntegers: false, maxBytes: 16 * 1024 * 1024 } as const;

interface FloatEvent { event_id: string; content_hash: string; reference_hash: string; wire: string; pdu: JsonObject }
interface FloatFile { room_version: string; server_name: string; verify_key: { key_id: string; key: string }; events: FloatEvent[] }

const files = readdirSync(dir).filter((f) => /^events-v\d+\.json$/.test(f)).map((f) => ({
  name: f,
  // The whole file through the number-keeping parse, so the pretty-printed `pdu`s keep Python's float text too.
  json: parseJsonStrict(readFileSync(dir + f, "utf8"), LOOSE) as unknown as FloatFile,
}));

describe("events with floats made by Synapse (room versions 1-5)", () => {
  it("has fixtures for room versions 1, 3 and 5", () => {
    assert.deepEqual(files.map((f) => f.json.room_version).sort(), ["1", "3", "5"]);
  });

  for (const { name, json } of files) {
    const rules = roomVersion(json.room_version);
    const lookup = (server: string, keyId: string) => (server === json.server_name && keyId === json.verify_key.key_id ? decodeBase64(json.verify_key.key) : undefined);
    for (const ev of json.events) {
      const type = String(ev.pdu["type"]);
      const forms: [string, JsonObject][] = [["the wire text", parseJsonStrict(ev.wire, LOOSE) as JsonObject], ["the fixture file", ev.pdu]];
      for (const [form, raw] of forms) {
        it(`${name} ${type}: same content hash, reference hash and event id as Synapse, from ${form}`, () => {
          assert.equal(encodeBase64(contentHash(raw, rules)), ev.content_hash);
          assert.equal(encodeBase64(referenceHash(raw, rules)), ev.reference_hash);
          assert.equal(computeEventId(raw, rules), ev.event_id);
        });
        it(`${name} ${type}: passes the receipt checks (signature, content hash, id) unredacted, from ${form}`, () => {
          const v = checkPdu(raw, rules, lookup as never, { eventId: ev.event_id });
          assert.deepEqual(v.failures, []);
          assert.equal(v.ok, true);
          assert.equal(v.redacted, false);
        });
      }
      it(`${name} ${type}: re-encodes Synapse's canonical JSON byte for byte, and keeps the floats redaction keeps`, () => {
        const raw = parseJsonStrict(ev.wire, LOOSE) as JsonObject;
        assert.equal(canonicalJson(raw, { strict: false }), ev.wire);
        const redacted = canonicalJson(redactEvent(raw, rules), { strict: false });
        if (type === "m.room.power_levels") assert.match(redacted, /"users_default":0\.0/);
      });
    }
  }

  it("passes the batch verification (verifyEventsBatch) of every event, as a transaction of them would", () => {
    for (const { json } of files) {
      const rules = roomVersion(json.room_version);
      const key = decodeBase64(json.verify_key.key);
      const verdicts = verifyEventsBatch(
        json.events.map((e) => ({ raw: parseJsonStrict(e.wire, LOOSE), rules, expectedEventId: e.event_id })),
        (server, keyId) => (server === json.server_name && keyId === json.verify_key.key_id ? key : undefined),
      );
      assert.deepEqual(verdicts.map((v) => [v.ok, v.redacted, v.failures.length]), json.events.map(() => [true, false, 0]), `room version ${json.room_version}`);
    }
  });

  it("fails the content hash of the float message when the literals are not kept (the old behaviour), so the check above can fail", () => {
    const v5 = files.find((f) => f.json.room_version === "5")!.json;
    const msg = v5.events.find((e) => e.pdu["type"] === "m.room.message")!;
    const plain = parseJsonStrict(msg.wire, { ...LOOSE, keepNumberText: false }) as JsonObject;
    assert.notEqual(encodeBase64(contentHash(plain, roomVersion("5"))), msg.content_hash);
    const pl = v5.events.find((e) => e.pdu["type"] === "m.room.power_levels")!;
    assert.notEqual(computeEventId(parseJsonStrict(pl.wire, { ...LOOSE, keepNumberText: false }) as JsonObject, roomVersion("5")), pl.event_id);
  });
});
