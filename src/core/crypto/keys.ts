/**
 * ed25519 signing keys: https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys
 *
 * A key id is `ed25519:<version>`, the version made of [A-Za-z0-9_]. Keys are
 * stored in Synapse's signing-key file format, one per line:
 * `ed25519 <version> <unpadded base64 of the 32-byte seed>`.
 */
import { MatrixError } from "../errors.js";
import type { KeyId } from "../ids/index.js";
import { decodeBase64, encodeBase64, InvalidBase64Error } from "../json/base64.js";
import { keyPairFromSeed, SEED_BYTES } from "./primitives.js";

export interface SigningKey {
  readonly keyId: KeyId;
  readonly version: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

const VERSION_RE = /^[A-Za-z0-9_]+$/;

/** libsodium secret keys (seed || public key), kept beside each SigningKey without exposing them. */
const secretKeys = new WeakMap<SigningKey, Uint8Array>();

export function signingKeyFromSeed(version: string, seed: Uint8Array): SigningKey {
  if (!VERSION_RE.test(version)) {
    throw MatrixError.invalidParam("key version", `${JSON.stringify(version)} must be letters, digits and '_' only`);
  }
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw MatrixError.invalidParam("seed", `an ed25519 seed is ${SEED_BYTES} bytes, got ${seed?.length}`);
  }
  const { publicKey, secretKey } = keyPairFromSeed(seed);
  const key: SigningKey = Object.freeze({ keyId: `ed25519:${version}` as KeyId, version, seed: Uint8Array.from(seed), publicKey });
  secretKeys.set(key, secretKey);
  return key;
}

/** The libsodium secret key of a SigningKey (rebuilt if the key object was made elsewhere). */
export function secretKeyOf(key: SigningKey): Uint8Array {
  let sk = secretKeys.get(key);
  if (!sk) {
    sk = keyPairFromSeed(key.seed).secretKey;
    secretKeys.set(key, sk);
  }
  return sk;
}

export function publicKeyBase64(key: SigningKey): string {
  return encodeBase64(key.publicKey);
}

/** Parses a Synapse signing-key file; blank lines are skipped; errors name the line. */
export function parseSigningKeyFile(text: string): SigningKey[] {
  if (typeof text !== "string") throw MatrixError.invalidParam("signing key file", "must be text");
  const keys: SigningKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const where = `signing key file line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) throw MatrixError.invalidParam(where, "expected 'ed25519 <version> <base64 seed>'");
    const [alg, version, seedB64] = parts as [string, string, string];
    if (alg !== "ed25519") throw MatrixError.invalidParam(where, `unsupported algorithm ${JSON.stringify(alg)} (only ed25519)`);
    if (!VERSION_RE.test(version)) throw MatrixError.invalidParam(where, `key version ${JSON.stringify(version)} must be letters, digits and '_'`);
    let seed: Uint8Array;
    try {
      seed = decodeBase64(seedB64);
    } catch (e) {
      throw MatrixError.invalidParam(where, e instanceof InvalidBase64Error ? `seed is ${e.message}` : "seed is not base64");
    }
    if (seed.length !== SEED_BYTES) throw MatrixError.invalidParam(where, `seed is ${seed.length} bytes, expected ${SEED_BYTES}`);
    keys.push(signingKeyFromSeed(version, seed));
  }
  return keys;
}

/** The Synapse signing-key file text of some keys (one line each, trailing newline). */
export function formatSigningKeyFile(keys: readonly SigningKey[]): string {
  return keys.map((k) => `ed25519 ${k.version} ${encodeBase64(k.seed)}\n`).join("");
}
