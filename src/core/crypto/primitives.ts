/**
 * The libsodium primitives (ed25519 and SHA-256). This folder is the only
 * user of sodium-native (test/architecture.test.ts enforces it).
 */
import sodium from "sodium-native";

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sodium.crypto_hash_sha256(out, bytes);
  return out;
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
