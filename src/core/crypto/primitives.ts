/**
 * The crypto primitives: ed25519 through libsodium (sodium-native, about 2.5x
 * faster to verify than node:crypto here) and SHA-256 (and SHA-1 for state
 * resolution v1) through node:crypto
 * (OpenSSL's SHA-256 uses the CPU's SHA extensions: ~2.7x libsodium's on a
 * 2 KB event). This folder is the only user of either (test/architecture.test.ts).
 */
import * as nodeCrypto from "node:crypto";
import sodium from "sodium-native";

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * crypto.hash is the one-shot form (Node 20.12+): no Hash object per call,
 * ~20% faster on a 2 KB event. Checked once at load; createHash otherwise.
 */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string | Uint8Array, enc: string) => unknown }).hash;
const digest: (data: string | Uint8Array) => Buffer =
  typeof oneShot === "function" && Buffer.isBuffer(oneShot("sha256", "", "buffer"))
    ? (data) => oneShot("sha256", data, "buffer") as Buffer
    : (data) => nodeCrypto.createHash("sha256").update(data).digest();

/** SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return view(digest(bytes));
}

/** SHA-256 of a string's UTF-8 encoding, without materialising the bytes first (the event-hash hot path). */
export function sha256Utf8(text: string): Uint8Array {
  return view(digest(text));
}

/**
 * SHA-1 of a string's UTF-8 bytes, as lowercase hex. Only state resolution v1
 * uses it (it orders events by sha1(event_id)); nothing here trusts SHA-1 for security.
 */
export function sha1HexUtf8(text: string): string {
  return nodeCrypto.createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * A string's UTF-8 bytes in a scratch buffer reused from call to call: valid
 * only until the next call, for synchronous use (verifying a signature right
 * away) on the hot path, where a fresh buffer per event is measurable.
 */
let scratch = Buffer.allocUnsafe(64 * 1024);
export function utf8Scratch(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(text.length * 3, scratch.length * 2));
  const n = scratch.write(text, 0, "utf8");
  return scratch.subarray(0, n);
}

export { utf8Length } from "../json/utf8.js";

/** A string's UTF-8 bytes (Buffer is faster than TextEncoder for non-ASCII text; a Buffer is a Uint8Array). */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

/** The ed25519 key pair of a 32-byte seed: the secret key is seed || public key. */
export function keyPairFromSeed(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = new Uint8Array(PUBLIC_KEY_BYTES);
  const secretKey = new Uint8Array(64);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const sig = new Uint8Array(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, message, secretKey);
  return sig;
}

/** Raw ed25519 verification; callers must have checked the lengths (64-byte signature, 32-byte key). */
export function verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}
