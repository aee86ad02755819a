/**
 * https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1userkeysclaim
 * 1. one_time_keys: `{user id: {device id: algorithm}}`, at most 1,000 devices in all (400 M_INVALID_PARAM); a
 *    body of at most 1 MiB. Users of other servers are left out.
 * 2. Each device gives one one-time key (each handed out once, also to concurrent claimers), else its fallback key
 *    (E2eeStore.claimKeys); devices with neither are left out.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { KeyClaim } from "../../../storage/ports.js";
import { defineFederationRoute } from "../../http/index.js";
import { MAX_KEY_ID } from "../../client/keys/key-objects.js";
import { MAX_CLAIMS } from "../../client/keys/claim.js";
import type { UserKeysDeps } from "./deps.js";

export const userKeysClaim = defineFederationRoute({
  method: "POST",
  path: "/_matrix/federation/v1/user/keys/claim",
  auth: "x-matrix",
  body: z.looseObject({ one_time_keys: z.record(z.string().max(255), z.record(z.string().min(1).max(MAX_KEY_ID), z.string().min(1).max(MAX_KEY_ID))) }),
  maxBodyBytes: 1024 * 1024,
  async handle({ body }, deps: UserKeysDeps) {
    const claims: KeyClaim[] = [];
    let count = 0;
    for (const [raw, devices] of Object.entries(body.one_time_keys)) {
      const userId = parseUserId(raw, `one_time_keys.${raw}`);
      count += Object.keys(devices).length;
      if (serverOfUserId(userId) !== deps.serverName) continue;
      for (const [deviceId, algorithm] of Object.entries(devices)) claims.push({ userId, deviceId, algorithm });
    }
    if (count > MAX_CLAIMS) throw MatrixError.invalidParam("one_time_keys", `at most ${MAX_CLAIMS} devices per claim`);
    const out: Record<string, Record<string, JsonObject>> = {};
    for (const k of await deps.e2ee.claimKeys(claims)) (out[k.userId] ??= {})[k.deviceId] = { [k.keyId]: k.key };
    return { one_time_keys: out };
  },
});
