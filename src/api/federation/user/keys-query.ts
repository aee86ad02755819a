/**
 * https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1userkeysquery
 * 1. device_keys: `{user id: [device ids]}` (empty: every device), at most 1,000 users and 1,000 devices each
 *    (400 M_INVALID_PARAM / M_BAD_JSON naming the field); a body of at most 1 MiB.
 * 2. Users of other servers are left out (the spec: requested users must be local to the receiving server).
 * 3. The answer is what a local /keys/query shows a third party: device keys with display names, master and
 *    self-signing keys with their owner's signatures only; never a user-signing key.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import { defineFederationRoute } from "../../http/index.js";
import { MAX_KEY_ID } from "../../client/keys/key-objects.js";
import { localKeys } from "../../client/keys/local-keys.js";
import type { UserKeysDeps } from "./deps.js";

const MAX_USERS = 1000;

export const userKeysQuery = defineFederationRoute({
  method: "POST",
  path: "/_matrix/federation/v1/user/keys/query",
  auth: "x-matrix",
  body: z.looseObject({ device_keys: z.record(z.string().max(255), z.array(z.string().max(MAX_KEY_ID)).max(1000)) }),
  maxBodyBytes: 1024 * 1024,
  async handle({ body }, deps: UserKeysDeps) {
    const requested = Object.entries(body.device_keys);
    if (requested.length > MAX_USERS) throw MatrixError.invalidParam("device_keys", `at most ${MAX_USERS} users per query`);
    const local: { userId: UserId; deviceIds: string[] }[] = [];
    for (const [raw, deviceIds] of requested) {
      const userId = parseUserId(raw, `device_keys.${raw}`);
      if (serverOfUserId(userId) === deps.serverName) local.push({ userId, deviceIds });
    }
    const keys = await localKeys(deps, local, (owner) => new Set([owner]), () => false);
    return { device_keys: keys.device_keys, master_keys: keys.master_keys, self_signing_keys: keys.self_signing_keys };
  },
});
