/** Opaque random credentials: 32 random bytes each (base64url), with a prefix saying what they are. */
import { randomBytes, randomInt } from "node:crypto";

export const newAccessToken = (): string => `zat_${randomBytes(32).toString("base64url")}`;
export const newRefreshToken = (): string => `zrt_${randomBytes(32).toString("base64url")}`;
/** An OpenID token (POST /user/{userId}/openid/request_token): only the federation's /openid/userinfo accepts it. */
export const newOpenIdToken = (): string => `zot_${randomBytes(32).toString("base64url")}`;

/** A device id as Synapse makes them: ten upper-case letters. */
export function newDeviceId(): string {
  let out = "";
  for (let i = 0; i < 10; i++) out += String.fromCharCode(65 + randomInt(26));
  return out;
}

/** A session id (UIA) or a nonce: unguessable, URL-safe. */
export const newSessionId = (): string => randomBytes(18).toString("base64url");

/** A localpart for a registration that named none: "u" and twelve random lower-case letters or digits. */
export function newLocalpart(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "u";
  for (let i = 0; i < 12; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
