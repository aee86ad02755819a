/**
 * The key objects of the encryption endpoints: device keys and cross-signing keys, and checking the ed25519
 * signatures they carry (https://spec.matrix.org/v1.16/client-server-api/#device-keys,
 * https://spec.matrix.org/v1.16/client-server-api/#cross-signing).
 */
import { z } from "zod";
import { verifyJsonSignature } from "../../../core/crypto/index.js";
import { MatrixError } from "../../../core/errors.js";
import { decodeBase64 } from "../../../core/json/base64.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { UserId } from "../../../core/ids/index.js";
import type { CrossSigningKeyRecord, CrossSigningKeyType } from "../../../storage/ports.js";

/** Longest key or device id accepted anywhere in these endpoints. */
export const MAX_KEY_ID = 255;

const Signatures = z.record(z.string().max(MAX_KEY_ID), z.record(z.string().max(MAX_KEY_ID), z.string().max(1024)));

export const DeviceKeys = z.looseObject({
  user_id: z.string().max(255),
  device_id: z.string().min(1).max(MAX_KEY_ID),
  algorithms: z.array(z.string().max(MAX_KEY_ID)).max(100),
  keys: z.record(z.string().max(MAX_KEY_ID), z.string().max(1024)),
  signatures: Signatures,
});

export const CrossSigningKey = z.looseObject({
  user_id: z.string().max(255),
  usage: z.array(z.string().max(64)).min(1).max(10),
  keys: z.record(z.string().max(MAX_KEY_ID), z.string().max(1024)),
  signatures: Signatures.optional(),
});
export type CrossSigningKeyBody = z.infer<typeof CrossSigningKey>;

/** The ed25519 public key (bytes) from unpadded base64, or undefined when it is not 32 bytes of base64. */
export function ed25519Key(base64: string): Uint8Array | undefined {
  try {
    const k = decodeBase64(base64);
    return k.length === 32 ? k : undefined;
  } catch {
    return undefined;
  }
}

/** Does `obj` carry a valid signature by `signer` with `keyId` under the public key `publicKey`? */
export function signedBy(obj: JsonObject, signer: UserId, keyId: string, publicKey: string): boolean {
  const pk = ed25519Key(publicKey);
  return pk !== undefined && verifyJsonSignature(obj, signer, keyId, pk).ok;
}

/**
 * Checks uploaded device keys (POST /keys/upload): they must be the requesting device's, carry its
 * `ed25519:<device_id>` key, and be signed by that key (the device's self-signature).
 */
export function checkDeviceKeys(keys: z.infer<typeof DeviceKeys>, userId: UserId, deviceId: string): void {
  if (keys.user_id !== userId) throw MatrixError.invalidParam("device_keys.user_id", `must be ${userId}, the user of the access token`);
  if (keys.device_id !== deviceId) throw MatrixError.invalidParam("device_keys.device_id", `must be ${deviceId}, the device of the access token`);
  const keyId = `ed25519:${deviceId}`;
  const pub = keys.keys[keyId];
  if (pub === undefined) throw MatrixError.invalidParam("device_keys.keys", `has no ${keyId} key`);
  if (ed25519Key(pub) === undefined) throw MatrixError.invalidParam(`device_keys.keys.${keyId}`, "is not a 32-byte ed25519 key in unpadded base64");
  if (!signedBy(keys as JsonObject, userId, keyId, pub)) throw MatrixError.invalidParam("device_keys.signatures", `no valid signature by ${userId} ${keyId}: the device keys must be signed by the device's own ed25519 key`);
}

/**
 * A cross-signing key of the requesting user, as uploaded: its user, its usage, and exactly one ed25519 key whose
 * id is `ed25519:<public key>`.
 */
export function crossSigningRecord(body: CrossSigningKeyBody, type: CrossSigningKeyType, userId: UserId, field: string): CrossSigningKeyRecord {
  if (body.user_id !== userId) throw MatrixError.invalidParam(`${field}.user_id`, `must be ${userId}, the user of the access token`);
  if (!body.usage.includes(type)) throw MatrixError.invalidParam(`${field}.usage`, `must include ${JSON.stringify(type)}`);
  const entries = Object.entries(body.keys);
  if (entries.length !== 1) throw MatrixError.invalidParam(`${field}.keys`, "must hold exactly one key");
  const [keyId, pub] = entries[0]!;
  if (keyId !== `ed25519:${pub}` || ed25519Key(pub) === undefined) throw MatrixError.invalidParam(`${field}.keys`, "must be {\"ed25519:<public key>\": \"<public key>\"} with a 32-byte ed25519 key");
  return { type, publicKey: pub, key: body as JsonObject };
}

/** The object without `signatures` and `unsigned`, as compact JSON, for "is this the same key?" comparisons. */
export function unsignedContent(obj: JsonObject): string {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return JSON.stringify(sortKeys(rest));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
}
