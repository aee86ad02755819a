/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountdeactivate
 * UIA m.login.password, then the account is marked deactivated and every device and token is deleted (one
 * transaction). Zion keeps no third-party ids, so id_server_unbind_result is "no-support".
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";

export const deactivateAccount = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/deactivate",
  auth: "access-token",
  body: z.looseObject({ auth: UiaAuth.optional(), erase: z.boolean().optional(), id_server: z.string().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ body, user }, deps: Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits">) {
    const pending = await requirePassword(deps, "deactivate", user.userId, body.auth);
    if (pending) return pending;
    await deps.users.deactivateUser(user.userId);
    return { id_server_unbind_result: "no-support" };
  },
});
