/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysquery
 * 1. device_keys: `{user id: [device ids]}` (an empty list: every device); at most 1,000 users and 1,000 devices
 *    per user, so the work one request causes is bounded.
 * 2. Local users: each device's keys with the device's display name in `unsigned.device_display_name`, and the
 *    master and self-signing keys; the user-signing key only of the requester itself (the spec's rule).
 *    Signatures added through /keys/signatures/upload are merged in when the signer is the key's owner or the
 *    requester (as Synapse shows them), so one user's verification of another is not shown to third parties.
 * 3. Users of other servers go into `failures` under their server name until key queries over federation exist.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { MAX_KEY_ID } from "./key-objects.js";

const MAX_USERS = 1000;

/** Keeps the signatures made by `allowed` users only. */
function signaturesBy(key: JsonObject, allowed: ReadonlySet<string>): JsonObject {
  const sigs = key["signatures"];
  if (sigs === undefined || sigs === null || typeof sigs !== "object") return key;
  return { ...key, signatures: Object.fromEntries(Object.entries(sigs).filter(([signer]) => allowed.has(signer))) };
}

export const queryKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/query",
  auth: "access-token",
  body: z.looseObject({
    device_keys: z.record(z.string().max(255), z.array(z.string().max(MAX_KEY_ID)).max(1000)),
    timeout: z.number().int().nonnegative().optional(),
  }),
  maxBodyBytes: 1024 * 1024,
  async handle({ user, body }, { e2ee, users, serverName }: Pick<UserDataDeps, "e2ee" | "users" | "serverName">) {
    const requested = Object.entries(body.device_keys);
    if (requested.length > MAX_USERS) throw MatrixError.invalidParam("device_keys", `at most ${MAX_USERS} users per query`);
    const local: { userId: UserId; deviceIds: string[] }[] = [];
    const failures: Record<string, JsonObject> = {};
    for (const [raw, deviceIds] of requested) {
      const userId = parseUserId(raw, `device_keys.${raw}`);
      if (serverOfUserId(userId) === serverName) local.push({ userId, deviceIds });
      else failures[serverOfUserId(userId)] = { status: 503, message: "Zion does not query other servers for keys yet" };
    }
    const [deviceKeys, crossSigning] = await Promise.all([e2ee.getDeviceKeys(local), e2ee.getCrossSigningKeys(local.map((l) => l.userId))]);
    const out: Record<string, Record<string, JsonObject>> = {};
    for (const { userId } of local) {
      const devices = deviceKeys.get(userId);
      out[userId] = {};
      if (!devices) continue;
      const names = new Map((await users.getDevices(userId)).map((d) => [d.deviceId, d.displayName]));
      for (const [deviceId, key] of devices) {
        const name = names.get(deviceId);
        out[userId]![deviceId] = name ? { ...key, unsigned: { ...((key["unsigned"] as JsonObject | undefined) ?? {}), device_display_name: name } } : key;
      }
    }
    const master: Record<string, JsonObject> = {};
    const selfSigning: Record<string, JsonObject> = {};
    const userSigning: Record<string, JsonObject> = {};
    for (const [userId, keys] of crossSigning) {
      const allowed = new Set<string>([userId, user.userId]);
      const m = keys.get("master");
      const s = keys.get("self_signing");
      const u = keys.get("user_signing");
      if (m) master[userId] = signaturesBy(m.key, allowed);
      if (s) selfSigning[userId] = signaturesBy(s.key, allowed);
      if (u && userId === user.userId) userSigning[userId] = u.key;
    }
    return { device_keys: out, master_keys: master, self_signing_keys: selfSigning, user_signing_keys: userSigning, failures };
  },
});
