/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3devices */
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { deviceJson } from "./device-json.js";

export const listDevices = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/devices",
  auth: "access-token",
  async handle({ user }, { users }: Pick<AccountDeps, "users">) {
    return { devices: (await users.getDevices(user.userId)).map(deviceJson) };
  },
});
