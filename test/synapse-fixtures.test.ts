/**
 * Signed JSON captured from a real Synapse (test/fixtures/synapse, see its README) verified with Zion's core crypto.
 * These run everywhere, Synapse installed or not: real signatures from another implementation keep our canonical
 * JSON, base64 and ed25519 code honest.
 *
 * Specification: https://spec.matrix.org/v1.16/appendices/#checking-for-a-signature,
 * https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys,
 * https://spec.matrix.org/v1.16/server-server-api/#request-authentication,
 * https://spec.matrix.org/v1.16/server-server-api/#calculating-the-content-hash-for-an-event
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256, verifyJsonSignature } from "../src/core/crypto/index.js";
import { computeEventId, redactEvent } from "../src/core/events/index.js";
import { canonicalJson, canonicalJsonBytes, decodeBase64, encodeBase64, type JsonObject } from "../src/core/json/index.js";
import { roomVersion } from "../src/core/room-versions/index.js";

// dist/test -> repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(root, "test", "fixtures", "synapse", name), "utf8")) as T;

interface KeyResponse extends JsonObject {
  server_name: string;
  valid_until_ts: number;
  verify_keys: Record<string, { key: string }>;
  signatures: Record<string, Record<string, string>>;
}
interface KeysFixture { server_name: string; synapse_version: string; response: KeyResponse }
interface NotaryFixture { notary: string; queried: string; response: { server_keys: KeyResponse[] } }
interface RequestFixture {
  origin: string;
  destination: string;
  method: string;
  uri: string;
  authorization: string;
  body: string | null;
}
interface EventsFixture { origin: string; room_version: string; events: { event_id: string; pdu: JsonObject }[] }

const keysA = fixture<KeysFixture>("server-keys-a.json");
const keysB = fixture<KeysFixture>("server-keys-b.json");

function publicKeyOf(keys: KeyResponse, keyId: string): Uint8Array {
  const k = keys.verify_keys[keyId];
  assert.ok(k, `no verify key ${keyId}`);
  return decodeBase64(k.key);
}

function onlyKeyId(keys: KeyResponse): string {
  const ids = Object.keys(keys.verify_keys);
  assert.equal(ids.length, 1);
  return ids[0]!;
}

function withoutUnsigned(o: JsonObject): JsonObject {
  const { unsigned: _u, ...rest } = o;
  return rest;
}

/** A deep copy with one string changed at `path` (one character flipped), to prove a check can fail. */
function tampered<T>(value: T, path: readonly string[]): T {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  const v = at[last];
  at[last] = typeof v === "string" ? (v.endsWith("x") ? v.slice(0, -1) + "y" : v.slice(0, -1) + "x") : typeof v === "number" ? v + 1 : v;
  return copy as T;
}

/** Authorization: X-Matrix origin="...",destination="...",key="...",sig="..." (values may be quoted). */
function parseXMatrix(header: string): Record<string, string> {
  assert.match(header, /^X-Matrix /);
  const out: Record<string, string> = {};
  const re = /([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/g;
  for (const m of header.slice("X-Matrix ".length).matchAll(re)) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
  }
  return out;
}

describe("Synapse fixtures: server keys (captured from Synapse " + keysA.synapse_version + ")", () => {
  for (const f of [keysA, keysB]) {
    it(`verifies the self-signature of ${f.server_name}'s key response with its own verify key`, () => {
      const r = f.response;
      assert.equal(r.server_name, f.server_name);
      const keyId = onlyKeyId(r);
      assert.deepEqual(verifyJsonSignature(r, r.server_name, keyId, publicKeyOf(r, keyId)), { ok: true });
    });
  }

  it("refuses the key response once valid_until_ts or the key itself is altered", () => {
    const r = keysA.response;
    const keyId = onlyKeyId(r);
    const pk = publicKeyOf(r, keyId);
    assert.equal(verifyJsonSignature(tampered(r, ["valid_until_ts"]), r.server_name, keyId, pk).ok, false);
    assert.equal(verifyJsonSignature(tampered(r, ["server_name"]), r.server_name, keyId, pk).ok, false);
    // B's key cannot verify A's response.
    const v = verifyJsonSignature(r, r.server_name, keyId, publicKeyOf(keysB.response, onlyKeyId(keysB.response)));
    assert.equal(v.ok, false);
  });
});

describe("Synapse fixtures: notary responses", () => {
  for (const name of ["notary-post.json", "notary-get.json"]) {
    const f = fixture<NotaryFixture>(name);
    it(`${name}: the queried server's own signature and the notary's signature both verify`, () => {
      assert.equal(f.response.server_keys.length, 1, "the notary returned the queried server's keys");
      const r = f.response.server_keys[0]!;
      assert.equal(r.server_name, f.queried);
      // The queried server (B) signed with the key it publishes; the notary (A) added its own signature.
      const bKeyId = onlyKeyId(keysB.response);
      assert.equal(r.verify_keys[bKeyId]?.key, keysB.response.verify_keys[bKeyId]?.key);
      assert.deepEqual(verifyJsonSignature(r, f.queried, bKeyId, publicKeyOf(keysB.response, bKeyId)), { ok: true });
      const aKeyId = onlyKeyId(keysA.response);
      assert.equal(f.notary, keysA.server_name);
      assert.deepEqual(verifyJsonSignature(r, f.notary, aKeyId, publicKeyOf(keysA.response, aKeyId)), { ok: true });
      assert.equal(verifyJsonSignature(tampered(r, ["valid_until_ts"]), f.notary, aKeyId, publicKeyOf(keysA.response, aKeyId)).ok, false);
    });
  }
});

describe("Synapse fixtures: X-Matrix signed requests", () => {
  for (const name of ["request-query-profile.json", "request-user-keys-query.json"]) {
    const f = fixture<RequestFixture>(name);
    const h = parseXMatrix(f.authorization);
    const request = (over: Partial<Record<string, unknown>> = {}): JsonObject => {
      const obj: Record<string, unknown> = {
        method: f.method,
        uri: f.uri,
        origin: h["origin"],
        destination: h["destination"],
        ...(f.body !== null ? { content: JSON.parse(f.body) as unknown } : {}),
        ...over,
      };
      obj["signatures"] = { [h["origin"]!]: { [h["key"]!]: h["sig"]! } };
      return obj as JsonObject;
    };

    it(`${name}: the X-Matrix signature verifies over {method, uri, origin, destination${f.body ? ", content" : ""}}`, () => {
      assert.equal(h["origin"], f.origin);
      assert.equal(h["destination"], f.destination);
      assert.equal(h["key"], onlyKeyId(keysA.response));
      assert.deepEqual(verifyJsonSignature(request(), f.origin, h["key"]!, publicKeyOf(keysA.response, h["key"]!)), { ok: true });
    });

    it(`${name}: a wrong destination, method or uri fails verification`, () => {
      const pk = publicKeyOf(keysA.response, h["key"]!);
      assert.equal(verifyJsonSignature(request({ destination: "127.0.4.99:1" }), f.origin, h["key"]!, pk).ok, false);
      assert.equal(verifyJsonSignature(request({ method: f.method === "GET" ? "POST" : "GET" }), f.origin, h["key"]!, pk).ok, false);
      assert.equal(verifyJsonSignature(request({ uri: f.uri + "x" }), f.origin, h["key"]!, pk).ok, false);
    });
  }
});

describe("Synapse fixtures: room events", () => {
  const f = fixture<EventsFixture>("events.json");
  const aKeyId = onlyKeyId(keysA.response);
  const aKey = publicKeyOf(keysA.response, aKeyId);

  it("holds a whole room of the version Synapse creates by default, create event first", () => {
    assert.ok(f.events.length >= 6);
    assert.equal(f.events[0]!.pdu["type"], "m.room.create");
    assert.equal((f.events[0]!.pdu["content"] as JsonObject)["room_version"], f.room_version);
  });

  for (const e of f.events) {
    it(`content hash of ${String(e.pdu["type"])} ${e.event_id} matches (sha256 over the event without unsigned, signatures, hashes)`, () => {
      const { unsigned: _u, signatures: _s, hashes, ...rest } = e.pdu;
      const expected = (hashes as JsonObject)["sha256"];
      assert.equal(encodeBase64(sha256(canonicalJsonBytes(rest))), expected);
      const changed = { ...rest, origin_server_ts: (rest["origin_server_ts"] as number) + 1 };
      assert.notEqual(encodeBase64(sha256(canonicalJsonBytes(changed))), expected);
    });
  }

  for (const e of f.events) {
    it(`Synapse's signature on ${String(e.pdu["type"])} verifies over its redacted form, and its event ID matches`, () => {
      const rules = roomVersion(f.room_version);
      assert.deepEqual(verifyJsonSignature(redactEvent(e.pdu, rules), f.origin, aKeyId, aKey), { ok: true });
      assert.equal(computeEventId(e.pdu, rules), e.event_id);
      // The full event (content included) is not what was signed, except where redaction keeps everything.
      const full = verifyJsonSignature(e.pdu, f.origin, aKeyId, aKey).ok;
      assert.equal(full, canonicalJson(redactEvent(e.pdu, rules)) === canonicalJson(withoutUnsigned(e.pdu)));
    });
  }

  it("verifies Synapse's signature on the create event (whose redacted form is the event itself)", () => {
    const create = f.events[0]!.pdu;
    assert.deepEqual(verifyJsonSignature(create, f.origin, aKeyId, aKey), { ok: true });
    assert.equal(verifyJsonSignature(tampered(create, ["depth"]), f.origin, aKeyId, aKey).ok, false);
  });
});
