/**
 * Checking a server-keys object: https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys
 * (the ServerKeys schema of GET /_matrix/key/v2/server and of each entry of /_matrix/key/v2/query).
 *
 * 1. It is a JSON object whose server_name is the server we asked about.
 * 2. valid_until_ts is an integer; verify_keys maps "ed25519:<version>" ids to {key: base64 of 32 bytes}.
 * 3. old_verify_keys (optional) maps ids to {key, expired_ts}.
 * 4. The object carries a signature by the server with every key in verify_keys, and each verifies.
 * 5. When it came through a notary, it also carries a valid signature by the notary, made with a key of the
 *    notary's that we already trust (configured in trusted_key_servers or fetched from the notary itself).
 * 6. Validity: a key is used for requests until min(valid_until_ts, fetched + 7 days) (the spec's cap on how far
 *    ahead a response may vouch for a key); an old key only for events sent before its expired_ts.
 */
import { verifyJsonSignature } from "../../core/crypto/index.js";
import type { KeyId, ServerName } from "../../core/ids/index.js";
import { decodeBase64 } from "../../core/json/base64.js";
import type { JsonObject } from "../../core/json/types.js";
import type { ServerKeyRecord } from "../../storage/ports.js";

export const MAX_KEY_VALIDITY_MS = 7 * 24 * 3600_000;

export interface ParsedKey {
  readonly keyId: KeyId;
  readonly publicKey: Uint8Array;
  readonly publicKeyBase64: string;
  /** Only for old_verify_keys. */
  readonly expiredTs?: number;
}

export interface CheckedServerKeys {
  readonly serverName: ServerName;
  readonly validUntilTs: number;
  readonly verifyKeys: readonly ParsedKey[];
  readonly oldVerifyKeys: readonly ParsedKey[];
  /** The object as received, with only the origin's (and, when given, the notary's) signatures. */
  readonly json: JsonObject;
}

export type KeysVerdict = { ok: true; keys: CheckedServerKeys } | { ok: false; check: string; reason: string };

const KEY_ID = /^ed25519:[A-Za-z0-9_]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseKey(keyId: string, v: unknown, old: boolean): ParsedKey | string {
  if (!isObject(v) || typeof v["key"] !== "string") return `${keyId} has no "key" string`;
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(v["key"]);
  } catch {
    return `${keyId} is not base64`;
  }
  if (bytes.length !== 32) return `${keyId} is ${bytes.length} bytes, an ed25519 key is 32`;
  if (old) {
    const e = v["expired_ts"];
    if (typeof e !== "number" || !Number.isInteger(e)) return `old key ${keyId} has no integer expired_ts`;
    return { keyId: keyId as KeyId, publicKey: bytes, publicKeyBase64: v["key"], expiredTs: e };
  }
  return { keyId: keyId as KeyId, publicKey: bytes, publicKeyBase64: v["key"] };
}

export interface NotaryKeys {
  readonly notary: ServerName;
  /** The notary's public keys we trust, by key id. */
  readonly keys: ReadonlyMap<string, Uint8Array>;
}

/** Steps 1-5. */
export function checkServerKeys(raw: unknown, expected: ServerName, notary?: NotaryKeys): KeysVerdict {
  // Step 1.
  if (!isObject(raw)) return { ok: false, check: "keys.fetch", reason: "the key response is not a JSON object" };
  if (raw["server_name"] !== expected) {
    return { ok: false, check: "keys.server-name", reason: `server_name is ${JSON.stringify(raw["server_name"])}, expected ${JSON.stringify(expected)}` };
  }
  // Step 2.
  const vut = raw["valid_until_ts"];
  if (typeof vut !== "number" || !Number.isInteger(vut)) return { ok: false, check: "keys.valid-until", reason: "valid_until_ts is missing or not an integer" };
  const vk = raw["verify_keys"];
  if (!isObject(vk) || Object.keys(vk).length === 0) return { ok: false, check: "keys.fetch", reason: "verify_keys is missing or empty" };
  const verifyKeys: ParsedKey[] = [];
  for (const [id, v] of Object.entries(vk)) {
    if (!KEY_ID.test(id)) continue; // other algorithms are ignored
    const k = parseKey(id, v, false);
    if (typeof k === "string") return { ok: false, check: "keys.fetch", reason: k };
    verifyKeys.push(k);
  }
  if (verifyKeys.length === 0) return { ok: false, check: "keys.fetch", reason: "verify_keys has no ed25519 key" };
  // Step 3.
  const oldVerifyKeys: ParsedKey[] = [];
  const ovk = raw["old_verify_keys"];
  if (ovk !== undefined) {
    if (!isObject(ovk)) return { ok: false, check: "keys.fetch", reason: "old_verify_keys is not an object" };
    for (const [id, v] of Object.entries(ovk)) {
      if (!KEY_ID.test(id)) continue;
      const k = parseKey(id, v, true);
      if (typeof k === "string") return { ok: false, check: "keys.fetch", reason: k };
      oldVerifyKeys.push(k);
    }
  }
  // Step 4.
  for (const k of verifyKeys) {
    const v = verifyJsonSignature(raw as JsonObject, expected, k.keyId, k.publicKey);
    if (!v.ok) return { ok: false, check: "keys.signature", reason: `self-signature with ${k.keyId}: ${v.reason}` };
  }
  // Step 5.
  const sigs = raw["signatures"] as Record<string, unknown>;
  const kept: Record<string, unknown> = { [expected]: sigs[expected] };
  if (notary) {
    const byNotary = sigs[notary.notary];
    if (!isObject(byNotary)) return { ok: false, check: "keys.signature", reason: `not signed by the notary ${notary.notary}` };
    let verified = false;
    let why = `no signature by a known key of ${notary.notary}`;
    for (const id of Object.keys(byNotary)) {
      const pk = notary.keys.get(id);
      if (!pk) continue;
      const v = verifyJsonSignature(raw as JsonObject, notary.notary, id, pk);
      if (v.ok) { verified = true; break; }
      why = `notary signature with ${id}: ${v.reason}`;
    }
    if (!verified) return { ok: false, check: "keys.signature", reason: why };
    kept[notary.notary] = byNotary;
  }
  const json = { ...(raw as JsonObject), signatures: kept } as JsonObject;
  return { ok: true, keys: { serverName: expected, validUntilTs: vut, verifyKeys, oldVerifyKeys, json } };
}

/** Rows for the KeyStore: one per key, current and old. */
export function toRecords(k: CheckedServerKeys, fetchedTs: number, fetchedFrom: ServerName): ServerKeyRecord[] {
  // The stored JSON keeps only the origin's signature, so a notary re-serving it adds only its own.
  const originOnly = { ...k.json, signatures: { [k.serverName]: (k.json["signatures"] as JsonObject)[k.serverName] ?? {} } } as JsonObject;
  return [
    ...k.verifyKeys.map((key) => ({
      serverName: k.serverName, keyId: key.keyId, publicKey: key.publicKeyBase64, validUntilTs: k.validUntilTs,
      expiredTs: null, fetchedTs, fetchedFrom, keyJson: originOnly,
    })),
    ...k.oldVerifyKeys.map((key) => ({
      serverName: k.serverName, keyId: key.keyId, publicKey: key.publicKeyBase64, validUntilTs: 0,
      expiredTs: key.expiredTs ?? 0, fetchedTs, fetchedFrom, keyJson: originOnly,
    })),
  ];
}

/** Step 6: until when a cached key may be used (requests: current keys only). */
export function usableUntil(r: Pick<ServerKeyRecord, "validUntilTs" | "expiredTs" | "fetchedTs">): number {
  if (r.expiredTs !== null) return r.expiredTs;
  return Math.min(r.validUntilTs, r.fetchedTs + MAX_KEY_VALIDITY_MS);
}
