/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysclaim
 * 1. one_time_keys: `{user id: {device id: algorithm}}`, at most 1,000 devices in all.
 * 2. Each local device gives one unclaimed one-time key of that algorithm (deleted as it is handed out, so each key
 *    goes to exactly one claimer even when claims race), else its fallback key; devices with neither are left out.
 * 3. Devices of users of other servers are claimed from their servers (one request per server) within `timeout`
 *    (milliseconds, default 10 s, at most 60 s); a server that fails or does not answer goes into `failures`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { KeyClaim } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { MAX_KEY_ID } from "./key-objects.js";
import { DEFAULT_REMOTE_TIMEOUT_MS, MAX_REMOTE_TIMEOUT_MS } from "./query.js";

export const MAX_CLAIMS = 1000;

export const claimKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/claim",
  auth: "access-token",
  body: z.looseObject({
    one_time_keys: z.record(z.string().max(255), z.record(z.string().min(1).max(MAX_KEY_ID), z.string().min(1).max(MAX_KEY_ID))),
    timeout: z.number().int().nonnegative().optional(),
  }),
  maxBodyBytes: 1024 * 1024,
  async handle({ body }, { e2ee, serverName, remoteE2ee }: Pick<UserDataDeps, "e2ee" | "serverName" | "remoteE2ee">) {
    const claims: KeyClaim[] = [];
    const remote = new Map<UserId, Record<string, string>>();
    let count = 0;
    for (const [raw, devices] of Object.entries(body.one_time_keys)) {
      const userId = parseUserId(raw, `one_time_keys.${raw}`);
      count += Object.keys(devices).length;
      if (serverOfUserId(userId) !== serverName) remote.set(userId, devices);
      else for (const [deviceId, algorithm] of Object.entries(devices)) claims.push({ userId, deviceId, algorithm });
    }
    if (count > MAX_CLAIMS) throw MatrixError.invalidParam("one_time_keys", `at most ${MAX_CLAIMS} devices per claim`);
    const timeoutMs = Math.min(body.timeout ?? DEFAULT_REMOTE_TIMEOUT_MS, MAX_REMOTE_TIMEOUT_MS);
    const [claimed, theirs] = await Promise.all([
      e2ee.claimKeys(claims),
      remote.size > 0 ? remoteE2ee.claimKeys(remote, timeoutMs) : Promise.resolve({ oneTimeKeys: {}, failures: {} }),
    ]);
    const out: Record<string, Record<string, JsonObject>> = { ...theirs.oneTimeKeys };
    for (const k of claimed) {
      const byDevice = (out[k.userId] ??= {});
      byDevice[k.deviceId] = { [k.keyId]: k.key };
    }
    return { one_time_keys: out, failures: theirs.failures };
  },
});
