/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysquery
 * 1. device_keys: `{user id: [device ids]}` (an empty list: every device); at most 1,000 users and 1,000 devices
 *    per user, so the work one request causes is bounded.
 * 2. Local users: each device's keys with the device's display name in `unsigned.device_display_name`, and the
 *    master and self-signing keys; the user-signing key only of the requester itself (the spec's rule).
 *    Signatures added through /keys/signatures/upload are merged in when the signer is the key's owner or the
 *    requester (as Synapse shows them), so one user's verification of another is not shown to third parties.
 * 3. Users of other servers: from the cache of their device list when it is tracked and fresh, else asked of
 *    their server within `timeout` (milliseconds, default 10 s, at most 60 s); a server that fails or does not
 *    answer in time goes into `failures` under its name (src/rooms/device-lists/remote-keys.ts).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { MAX_KEY_ID } from "./key-objects.js";
import { localKeys } from "./local-keys.js";

const MAX_USERS = 1000;
export const DEFAULT_REMOTE_TIMEOUT_MS = 10_000;
export const MAX_REMOTE_TIMEOUT_MS = 60_000;

export const queryKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/query",
  auth: "access-token",
  body: z.looseObject({
    device_keys: z.record(z.string().max(255), z.array(z.string().max(MAX_KEY_ID)).max(1000)),
    timeout: z.number().int().nonnegative().optional(),
  }),
  maxBodyBytes: 1024 * 1024,
  async handle({ user, body }, { e2ee, users, serverName, remoteE2ee }: Pick<UserDataDeps, "e2ee" | "users" | "serverName" | "remoteE2ee">) {
    const requested = Object.entries(body.device_keys);
    if (requested.length > MAX_USERS) throw MatrixError.invalidParam("device_keys", `at most ${MAX_USERS} users per query`);
    const local: { userId: UserId; deviceIds: string[] }[] = [];
    const remote = new Map<UserId, readonly string[]>();
    for (const [raw, deviceIds] of requested) {
      const userId = parseUserId(raw, `device_keys.${raw}`);
      if (serverOfUserId(userId) === serverName) local.push({ userId, deviceIds });
      else remote.set(userId, deviceIds);
    }
    const timeoutMs = Math.min(body.timeout ?? DEFAULT_REMOTE_TIMEOUT_MS, MAX_REMOTE_TIMEOUT_MS);
    const [mine, theirs] = await Promise.all([
      localKeys({ e2ee, users }, local, (owner) => new Set<string>([owner, user.userId]), (owner) => owner === user.userId),
      remote.size > 0 ? remoteE2ee.queryKeys(remote, timeoutMs) : Promise.resolve({ deviceKeys: {}, masterKeys: {}, selfSigningKeys: {}, failures: {} }),
    ]);
    return {
      device_keys: { ...mine.device_keys, ...theirs.deviceKeys },
      master_keys: { ...mine.master_keys, ...theirs.masterKeys },
      self_signing_keys: { ...mine.self_signing_keys, ...theirs.selfSigningKeys },
      user_signing_keys: mine.user_signing_keys,
      failures: theirs.failures,
    };
  },
});
