/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3login: the login types Zion accepts. */
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";

export const getLogin = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/login",
  auth: "none",
  handle: (_input, { accounts }: Pick<AccountDeps, "accounts">) => ({
    flows: accounts.passwordLoginEnabled ? [{ type: "m.login.password" }] : [],
  }),
});
