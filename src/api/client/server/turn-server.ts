/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3voipturnserver
 * From Synapse's settings, answering as Synapse does:
 * 1. No turn_uris: 200 with {}.
 * 2. turn_shared_secret: the TURN REST API credentials coturn checks with `use-auth-secret`: username
 *    `<expiry>:<user id>` where expiry is now + turn_user_lifetime in whole seconds, password the standard base64
 *    (padded) of HMAC-SHA1 keyed with the secret over the username.
 * 3. Else turn_username and turn_password as they are; neither: 200 with {}.
 * `ttl` is turn_user_lifetime in seconds.
 */
import { createHmac } from "node:crypto";
import { defineClientRoute } from "../../http/index.js";
import type { TurnSettings, UserDataDeps } from "../deps.js";

/** The coturn TURN REST credentials for `userId` at `nowMs`. */
export function turnCredentials(secret: string, userId: string, nowMs: number, lifetimeMs: number): { username: string; password: string } {
  const expiry = Math.floor((nowMs + lifetimeMs) / 1000);
  const username = `${expiry}:${userId}`;
  return { username, password: createHmac("sha1", secret).update(username, "utf8").digest("base64") };
}

function answer(turn: TurnSettings, userId: string, nowMs: number): Record<string, unknown> {
  if (turn.uris.length === 0) return {};
  let creds: { username: string; password: string };
  if (turn.sharedSecret !== undefined) creds = turnCredentials(turn.sharedSecret, userId, nowMs, turn.userLifetimeMs);
  else if (turn.username !== undefined && turn.password !== undefined) creds = { username: turn.username, password: turn.password };
  else return {};
  return { ...creds, ttl: Math.floor(turn.userLifetimeMs / 1000), uris: turn.uris };
}

export const getTurnServer = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/voip/turnServer",
  auth: "access-token",
  handle({ user }, { turn, clock }: Pick<UserDataDeps, "turn" | "clock">) {
    return answer(turn, user.userId, clock.now());
  },
});
