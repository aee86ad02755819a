export { sha256, verifyDetached, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES } from "./primitives.js";
export { signingKeyFromSeed, parseSigningKeyFile, formatSigningKeyFile, publicKeyBase64 } from "./keys.js";
export type { SigningKey } from "./keys.js";
export {
  signJson,
  verifyJsonSignature,
  verifyJsonSignatures,
  verifyServerSignature,
  verifySignatureBytes,
  signatureOf,
  signedBytes,
} from "./sign.js";
export type { SignatureVerdict, VerifyKey, KeyLookup, VerifyOptions } from "./sign.js";
