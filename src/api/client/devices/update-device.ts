/** https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3devicesdeviceid: renames; 404 when unknown. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { DeviceParams } from "./get-device.js";

export const updateDevice = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/devices/:deviceId",
  auth: "access-token",
  params: DeviceParams,
  body: z.looseObject({ display_name: z.string().max(1024).nullable().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body }, { users }: Pick<AccountDeps, "users">) {
    if (body.display_name === undefined) {
      if (!(await users.getDevice(user.userId, params.deviceId))) throw MatrixError.notFound(`no device ${params.deviceId} for ${user.userId}`);
      return {};
    }
    if (!(await users.setDeviceDisplayName(user.userId, params.deviceId, body.display_name))) throw MatrixError.notFound(`no device ${params.deviceId} for ${user.userId}`);
    return {};
  },
});
