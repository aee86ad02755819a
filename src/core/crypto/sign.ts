/**
 * Signing JSON: https://spec.matrix.org/v1.16/appendices/#signing-json
 * Checking for a signature: https://spec.matrix.org/v1.16/appendices/#checking-for-a-signature
 */
import type { KeyId, ServerName } from "../ids/index.js";
import { canonicalJsonBytes } from "../json/canonical.js";
import { CanonicalJsonError } from "../json/errors.js";
import { decodeBase64Into, encodeBase64 } from "../json/base64.js";
import type { JsonObject } from "../json/types.js";
import { secretKeyOf, type SigningKey } from "./keys.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, signDetached, verifyDetached } from "./primitives.js";

export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

/** A public key as a key lookup returns it; `validUntilTs` (ms) when the key server gave one. */
export interface VerifyKey {
  readonly publicKey: Uint8Array;
  readonly validUntilTs?: number;
}

/** Keys are fetched before verifying (core does no I/O): a lookup over what the caller loaded. */
export type KeyLookup = (serverName: ServerName, keyId: KeyId) => VerifyKey | Uint8Array | undefined;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Step 1 of both algorithms: the object without `signatures` and `unsigned`, as canonical bytes. */
export function signedBytes(obj: JsonObject): Uint8Array {
  if (!isObject(obj)) throw new CanonicalJsonError("only a JSON object carries signatures");
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return canonicalJsonBytes(rest);
}

/**
 * Signs `obj` as `serverName` with `key`:
 * 1. remove `signatures` and `unsigned`; 2. encode as canonical JSON;
 * 3. sign the bytes with ed25519; 4. return a new object whose `signatures`
 *    keeps every earlier signature and adds ours under server name and key id
 *    (`unsigned` is kept as it was).
 */
export function signJson<T extends JsonObject>(obj: T, serverName: string, key: SigningKey): T {
  if (!isObject(obj)) throw new CanonicalJsonError("only a JSON object can be signed");
  const existing = obj["signatures"];
  if (existing !== undefined && !isObject(existing)) throw new CanonicalJsonError("must be an object", ["signatures"]);
  const ours = existing?.[serverName];
  if (ours !== undefined && !isObject(ours)) throw new CanonicalJsonError("must be an object", ["signatures", serverName]);
  const sig = encodeBase64(signDetached(signedBytes(obj), secretKeyOf(key)));
  const signatures = { ...(existing as JsonObject | undefined), [serverName]: { ...(ours as JsonObject | undefined), [key.keyId]: sig } };
  return { ...obj, signatures };
}

/** The signature `obj` carries for (server, key id), as base64 text, or a reason why there is none. */
export function signatureOf(obj: JsonObject, serverName: string, keyId: string): string | { reason: string } {
  const sigs = obj["signatures"];
  if (!isObject(sigs)) return { reason: "no signatures object" };
  const byServer = sigs[serverName];
  if (!isObject(byServer)) return { reason: `not signed by ${serverName}` };
  const sig = byServer[keyId];
  if (sig === undefined) return { reason: `no signature from ${serverName} with key ${keyId}` };
  if (typeof sig !== "string") return { reason: `signature of ${serverName} ${keyId} is not a string` };
  return sig;
}

const OK: SignatureVerdict = Object.freeze({ ok: true });
const sigScratch = new Uint8Array(SIGNATURE_BYTES);

/**
 * Verifies one signature over bytes already computed by signedBytes (the
 * batch path). `what` (and `keyId`, when given) only name the signature in
 * reasons, e.g. `verifySignatureBytes(b, sig, pk, "example.org ed25519:a")`.
 */
export function verifySignatureBytes(bytes: Uint8Array, sigBase64: string, publicKey: Uint8Array, what: string, keyId?: string): SignatureVerdict {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    return { ok: false, reason: `public key for ${nameOf(what, keyId)} is ${publicKey.length} bytes, expected ${PUBLIC_KEY_BYTES}` };
  }
  let sig: Uint8Array;
  try {
    sig = decodeBase64Into(sigBase64, sigScratch); // read by libsodium at once, then free for the next

  } catch (e) {
    return { ok: false, reason: `signature of ${nameOf(what, keyId)} is not base64 (${(e as Error).message})` };
  }
  if (sig.length !== SIGNATURE_BYTES) return { ok: false, reason: `signature of ${nameOf(what, keyId)} is ${sig.length} bytes, expected ${SIGNATURE_BYTES}` };
  if (verifyDetached(sig, bytes, publicKey)) return OK;
  return { ok: false, reason: `signature of ${nameOf(what, keyId)} does not match the signed content` };
}

function nameOf(what: string, keyId: string | undefined): string {
  return keyId === undefined ? what : `${what} ${keyId}`;
}

/** The signed bytes of `obj`, or the refusal when it cannot be encoded as canonical JSON. */
function signedBytesOrVerdict(obj: JsonObject): Uint8Array | SignatureVerdict {
  try {
    return signedBytes(obj);
  } catch (e) {
    if (e instanceof CanonicalJsonError) return { ok: false, reason: `cannot be encoded as canonical JSON: ${e.message}` };
    throw e;
  }
}

/**
 * Checks `obj`'s signature by `serverName` with key `keyId`:
 * 1. `signatures[serverName][keyId]` must exist; 2. remove `signatures` and
 * `unsigned` and encode as canonical JSON; 3. decode the unpadded base64
 * signature; 4. verify it with the public key.
 */
export function verifyJsonSignature(obj: JsonObject, serverName: string, keyId: string, publicKey: Uint8Array): SignatureVerdict {
  if (!isObject(obj)) return { ok: false, reason: "not a JSON object" };
  const sig = signatureOf(obj, serverName, keyId);
  if (typeof sig !== "string") return { ok: false, reason: sig.reason };
  const bytes = signedBytesOrVerdict(obj);
  if (!(bytes instanceof Uint8Array)) return bytes;
  return verifySignatureBytes(bytes, sig, publicKey, serverName, keyId);
}


export interface VerifyOptions {
  /** Refuse keys whose `validUntilTs` is before this time (ms), e.g. an event's origin_server_ts. */
  readonly validAt?: number;
}

/**
 * Verifies `bytes` (signedBytes of `obj`) for one server: at least one of the
 * server's signatures made with a key the lookup knows must verify. Keys the
 * lookup does not know are skipped; if none is known, that is the reason.
 */
export function verifyServerSignature(
  obj: JsonObject,
  bytes: Uint8Array,
  serverName: string,
  lookup: KeyLookup,
  opts: VerifyOptions = {},
): SignatureVerdict {
  const sigs = obj["signatures"];
  const byServer = isObject(sigs) ? sigs[serverName] : undefined;
  if (!isObject(byServer)) return { ok: false, reason: `not signed by ${serverName}` };
  let lastFailure: string | undefined;
  for (const keyId in byServer) {
    if (!keyId.startsWith("ed25519:")) continue;
    const found = lookup(serverName as ServerName, keyId as KeyId);
    if (!found) continue;
    const publicKey = found instanceof Uint8Array ? found : found.publicKey;
    const validUntilTs = found instanceof Uint8Array ? undefined : found.validUntilTs;
    if (opts.validAt !== undefined && validUntilTs !== undefined && validUntilTs < opts.validAt) {
      lastFailure = `key ${serverName} ${keyId} expired at ${validUntilTs}, before ${opts.validAt}`;
      continue;
    }
    const sig = byServer[keyId];
    if (typeof sig !== "string") { lastFailure = `signature of ${serverName} ${keyId} is not a string`; continue; }
    const v = verifySignatureBytes(bytes, sig, publicKey, serverName, keyId);
    if (v.ok) return v;
    lastFailure = v.reason;
  }
  return { ok: false, reason: lastFailure ?? `no known key of ${serverName} among ${Object.keys(byServer).join(", ") || "(none)"}` };
}

/** Verifies that every server in `servers` has signed `obj` with a key the lookup knows. */
export function verifyJsonSignatures(
  obj: JsonObject,
  servers: readonly string[],
  lookup: KeyLookup,
  opts: VerifyOptions = {},
): SignatureVerdict {
  const bytes = signedBytesOrVerdict(obj);
  if (!(bytes instanceof Uint8Array)) return bytes;
  for (const s of servers) {
    const v = verifyServerSignature(obj, bytes, s, lookup, opts);
    if (!v.ok) return v;
  }
  return { ok: true };
}
