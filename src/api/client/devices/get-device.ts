/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3devicesdeviceid: 404 M_NOT_FOUND when unknown. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { MAX_DEVICE_ID_LENGTH, deviceJson } from "./device-json.js";

export const DeviceParams = z.object({ deviceId: z.string().min(1).max(MAX_DEVICE_ID_LENGTH) });

export const getDevice = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/devices/:deviceId",
  auth: "access-token",
  params: DeviceParams,
  async handle({ user, params }, { users }: Pick<AccountDeps, "users">) {
    const d = await users.getDevice(user.userId, params.deviceId);
    if (!d) throw MatrixError.notFound(`no device ${params.deviceId} for ${user.userId}`);
    return deviceJson(d);
  },
});
