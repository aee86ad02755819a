/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysclaim
 * 1. one_time_keys: `{user id: {device id: algorithm}}`, at most 1,000 devices in all.
 * 2. Each device gives one unclaimed one-time key of that algorithm (deleted as it is handed out, so each key goes
 *    to exactly one claimer even when claims race), else its fallback key; devices with neither are left out.
 * 3. Users of other servers go into `failures` until claims over federation exist.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { KeyClaim } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { MAX_KEY_ID } from "./key-objects.js";

const MAX_CLAIMS = 1000;

export const claimKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/claim",
  auth: "access-token",
  body: z.looseObject({
    one_time_keys: z.record(z.string().max(255), z.record(z.string().min(1).max(MAX_KEY_ID), z.string().min(1).max(MAX_KEY_ID))),
    timeout: z.number().int().nonnegative().optional(),
  }),
  maxBodyBytes: 1024 * 1024,
  async handle({ body }, { e2ee, serverName }: Pick<UserDataDeps, "e2ee" | "serverName">) {
    const claims: KeyClaim[] = [];
    const failures: Record<string, JsonObject> = {};
    for (const [raw, devices] of Object.entries(body.one_time_keys)) {
      const userId = parseUserId(raw, `one_time_keys.${raw}`);
      if (serverOfUserId(userId) !== serverName) {
        failures[serverOfUserId(userId)] = { status: 503, message: "Zion does not claim keys from other servers yet" };
        continue;
      }
      for (const [deviceId, algorithm] of Object.entries(devices)) claims.push({ userId, deviceId, algorithm });
    }
    if (claims.length > MAX_CLAIMS) throw MatrixError.invalidParam("one_time_keys", `at most ${MAX_CLAIMS} devices per claim`);
    const out: Record<string, Record<string, Record<string, JsonObject | string>>> = {};
    for (const k of await e2ee.claimKeys(claims)) {
      const byDevice = (out[k.userId] ??= {});
      byDevice[k.deviceId] = { [k.keyId]: k.key };
    }
    return { one_time_keys: out, failures };
  },
});
