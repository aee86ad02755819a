// The few libsodium bindings Zion uses (sodium-native ships no TypeScript types).
declare module "sodium-native" {
  const sodium: {
    readonly crypto_sign_PUBLICKEYBYTES: number;
    readonly crypto_sign_SECRETKEYBYTES: number;
    readonly crypto_sign_SEEDBYTES: number;
    readonly crypto_sign_BYTES: number;
    readonly crypto_hash_sha256_BYTES: number;
    crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
    crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
    crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  };
  export default sodium;
}
