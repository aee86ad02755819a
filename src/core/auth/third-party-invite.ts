/**
 * Rule "If any signature in `signed` matches any public key in the
 * `m.room.third_party_invite` event, allow" (v1 rule 5.3.1.7, v12 rule 5.4.1.7).
 * https://spec.matrix.org/v1.16/rooms/v12/#authorisation-rules
 *
 * The keys are `content.public_key` and every `content.public_keys[].public_key`
 * (unpadded base64, standard or URL-safe). A signature "matches" when it
 * verifies as a JSON signature of `signed` under that key, whatever the
 * server name and key id it is filed under.
 */
import { verifyJsonSignature } from "../crypto/index.js";
import { decodeBase64 } from "../json/index.js";
import type { JsonObject } from "../json/types.js";
import { isJsonObject } from "./power-levels.js";

/** Checks one signature of `signed` (filed under serverName/keyId) against a base64 public key. */
export type ThirdPartySignatureVerifier = (signed: JsonObject, serverName: string, keyId: string, publicKeyBase64: string) => boolean;

export const verifyThirdPartySignature: ThirdPartySignatureVerifier = (signed, serverName, keyId, publicKeyBase64) => {
  let key: Uint8Array;
  try {
    key = decodeBase64(publicKeyBase64);
  } catch {
    return false;
  }
  if (key.length !== 32) return false;
  try {
    return verifyJsonSignature(signed, serverName, keyId, key).ok;
  } catch {
    return false;
  }
};

/** The public keys an `m.room.third_party_invite` event offers. */
export function thirdPartyPublicKeys(content: JsonObject): string[] {
  const out: string[] = [];
  if (typeof content["public_key"] === "string") out.push(content["public_key"]);
  const list = content["public_keys"];
  if (Array.isArray(list)) {
    for (const k of list) if (isJsonObject(k) && typeof k["public_key"] === "string") out.push(k["public_key"]);
  }
  return out;
}

/** True when some signature in `signed.signatures` verifies under one of `keys`. */
export function signedMatchesAnyKey(signed: JsonObject, keys: readonly string[], verify: ThirdPartySignatureVerifier): boolean {
  const sigs = signed["signatures"];
  if (!isJsonObject(sigs)) return false;
  for (const [server, byKey] of Object.entries(sigs)) {
    if (!isJsonObject(byKey)) continue;
    for (const keyId of Object.keys(byKey)) {
      for (const k of keys) if (verify(signed, server, keyId, k)) return true;
    }
  }
  return false;
}
