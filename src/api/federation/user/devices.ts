/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1userdevicesuserid
 * 1. userId must be a user of this server (400 M_INVALID_PARAM otherwise); an unknown user is 404 M_NOT_FOUND.
 * 2. stream_id is the last of the user's m.device_list_update sequence (0 before any), read before the devices, so
 *    an update made meanwhile is in the answer and its EDU (prev_id = this stream_id) is applied again harmlessly.
 * 3. devices: every device with keys (device_id, keys, device_display_name when it has one); master_key and
 *    self_signing_key with only their owner's signatures (another user's signature is for that user to see).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineFederationRoute } from "../../http/index.js";
import { localKeys } from "../../client/keys/local-keys.js";
import type { UserKeysDeps } from "./deps.js";

export const userDevices = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/user/devices/:userId",
  auth: "x-matrix",
  params: z.object({ userId: z.string().max(255) }),
  async handle({ params }, deps: UserKeysDeps) {
    const userId = parseUserId(params.userId, "userId");
    if (serverOfUserId(userId) !== deps.serverName) throw MatrixError.invalidParam("userId", `${userId} is not a user of ${deps.serverName}`);
    if (!(await deps.users.getUser(userId))) throw MatrixError.notFound(`no such user: ${userId}`);
    const streamId = await deps.deviceFederation.outboundStreamId(userId);
    const keys = await localKeys(deps, [{ userId, deviceIds: [] }], (owner) => new Set([owner]), () => false);
    const names = new Map((await deps.users.getDevices(userId)).map((d) => [d.deviceId, d.displayName]));
    const devices: JsonObject[] = Object.entries(keys.device_keys[userId] ?? {}).map(([deviceId, k]) => {
      const { unsigned: _unsigned, ...bare } = k;
      const name = names.get(deviceId);
      return { device_id: deviceId, keys: bare, ...(name ? { device_display_name: name } : {}) };
    });
    const master = keys.master_keys[userId];
    const selfSigning = keys.self_signing_keys[userId];
    return { user_id: userId, stream_id: streamId, devices, ...(master ? { master_key: master } : {}), ...(selfSigning ? { self_signing_key: selfSigning } : {}) };
  },
});
