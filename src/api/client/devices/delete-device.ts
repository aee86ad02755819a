/**
 * https://spec.matrix.org/v1.16/client-server-api/#delete_matrixclientv3devicesdeviceid
 * UIA m.login.password, then the device and its tokens are deleted. An unknown device is 404 M_NOT_FOUND, checked
 * before UIA so the client is not asked for a password in vain.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";
import { DeviceParams } from "./get-device.js";

export const deleteDevice = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/devices/:deviceId",
  auth: "access-token",
  params: DeviceParams,
  body: z.looseObject({ auth: UiaAuth.optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body }, deps: Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits">) {
    if (!(await deps.users.getDevice(user.userId, params.deviceId))) throw MatrixError.notFound(`no device ${params.deviceId} for ${user.userId}`);
    const pending = await requirePassword(deps, `delete-device:${params.deviceId}`, user.userId, body.auth);
    if (pending) return pending;
    await deps.users.deleteDevice(user.userId, params.deviceId);
    return {};
  },
});
