/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3logoutall: every token and device of the user. */
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";

export const logoutAll = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/logout/all",
  auth: "access-token",
  async handle({ user }, { users }: Pick<AccountDeps, "users">) {
    await users.deleteAllDevices(user.userId);
    return {};
  },
});
