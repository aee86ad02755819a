/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysupload
 * 1. device_keys, when given, must be the token's user and device, carry `ed25519:<device_id>`, and be signed by
 *    it (400 M_INVALID_PARAM naming the field otherwise).
 * 2. one_time_keys and fallback_keys are `{"<algorithm>:<key id>": key}`; at most 1,000 one-time keys per request.
 *    A one-time key id uploaded before with other content is 400 M_INVALID_PARAM, and nothing is written.
 * 3. The answer is the device's unclaimed one-time keys per algorithm (signed_curve25519 always present, as Synapse
 *    answers, so clients that read it without a default work).
 * The unstable `org.matrix.msc2732.fallback_keys` (older clients) is read when fallback_keys is absent.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { KeyConflictError, type UploadedKey } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { DeviceKeys, MAX_KEY_ID, checkDeviceKeys } from "./key-objects.js";

const MAX_ONE_TIME_KEYS = 1000;
const KeyMap = z.record(z.string().min(1).max(MAX_KEY_ID), z.union([z.string().max(1024), z.looseObject({})]));

function keysOf(map: z.infer<typeof KeyMap> | undefined, field: string): UploadedKey[] {
  return Object.entries(map ?? {}).map(([keyId, key]) => {
    const colon = keyId.indexOf(":");
    if (colon <= 0 || colon === keyId.length - 1) throw MatrixError.invalidParam(field, `key id ${JSON.stringify(keyId)} is not "<algorithm>:<id>"`);
    return { algorithm: keyId.slice(0, colon), keyId, key: key as JsonObject | string };
  });
}

export const uploadKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/upload",
  auth: "access-token",
  body: z.looseObject({
    device_keys: DeviceKeys.optional(),
    one_time_keys: KeyMap.optional(),
    fallback_keys: KeyMap.optional(),
    "org.matrix.msc2732.fallback_keys": KeyMap.optional(),
  }),
  emptyBodyIsObject: true,
  maxBodyBytes: 512 * 1024,
  async handle({ user, body }, { e2ee }: Pick<UserDataDeps, "e2ee">) {
    if (body.device_keys) checkDeviceKeys(body.device_keys, user.userId, user.deviceId);
    const oneTimeKeys = keysOf(body.one_time_keys, "one_time_keys");
    if (oneTimeKeys.length > MAX_ONE_TIME_KEYS) throw MatrixError.invalidParam("one_time_keys", `at most ${MAX_ONE_TIME_KEYS} keys per upload`);
    const fallback = body.fallback_keys ?? body["org.matrix.msc2732.fallback_keys"];
    const fallbackKeys = keysOf(fallback, "fallback_keys");
    if (new Set(fallbackKeys.map((k) => k.algorithm)).size !== fallbackKeys.length) throw MatrixError.invalidParam("fallback_keys", "one fallback key per algorithm");
    try {
      const counts = await e2ee.uploadKeys({
        userId: user.userId,
        deviceId: user.deviceId,
        ...(body.device_keys ? { deviceKeys: body.device_keys as JsonObject } : {}),
        oneTimeKeys,
        fallbackKeys,
      });
      return { one_time_key_counts: { signed_curve25519: 0, ...counts } };
    } catch (e) {
      if (e instanceof KeyConflictError) throw MatrixError.invalidParam(`one_time_keys.${e.keyId}`, "this key id was uploaded before with other content");
      throw e;
    }
  },
});
