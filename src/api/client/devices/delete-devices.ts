/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3delete_devices
 * UIA m.login.password, then the listed devices and their tokens go in one transaction; unknown ids are ignored.
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";
import { MAX_DEVICE_ID_LENGTH } from "./device-json.js";

export const deleteDevices = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/delete_devices",
  auth: "access-token",
  body: z.looseObject({ devices: z.array(z.string().min(1).max(MAX_DEVICE_ID_LENGTH)).max(1000), auth: UiaAuth.optional() }),
  maxBodyBytes: 256 * 1024,
  async handle({ user, body }, deps: Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits">) {
    const pending = await requirePassword(deps, `delete-devices:${[...body.devices].sort().join("\n")}`, user.userId, body.auth);
    if (pending) return pending;
    await deps.users.deleteDevices(user.userId, body.devices);
    return {};
  },
});
