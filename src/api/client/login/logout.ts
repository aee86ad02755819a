/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3logout
 * Invalidates the access token and deletes its device (and the device's other tokens, refresh tokens included).
 */
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";

export const logout = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/logout",
  auth: "access-token",
  async handle({ user }, { users }: Pick<AccountDeps, "users">) {
    await users.deleteDevice(user.userId, user.deviceId);
    return {};
  },
});
