/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3accountdeactivate
 *
 * 1. UIA m.login.password (the password of the token's user; failures count against rc_login.failed_attempts).
 * 2. Then the account is deactivated as the admin API deactivates one (shared/deactivate-account.ts): marked
 *    deactivated with every device and token deleted (one transaction), pending invites rejected and knocks
 *    withdrawn, every joined room left through the room pipeline (over federation for rooms on other servers), so
 *    the other members see the leave. `erase: true` also clears the display name and avatar; Zion keeps no erasure
 *    mark, so earlier events stay visible to users who join later.
 * 3. Zion keeps no third-party ids, so id_server_unbind_result is "no-support" (`id_server` is accepted and unused).
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps, RoomDeps } from "../deps.js";
import { deactivateAccount as deactivate } from "../shared/deactivate-account.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";

export const deactivateAccount = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/deactivate",
  auth: "access-token",
  body: z.looseObject({ auth: UiaAuth.optional(), erase: z.boolean().optional(), id_server: z.string().optional() }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ body, user, log }, deps: Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits"> & Pick<RoomDeps, "roomStore" | "rooms">) {
    const pending = await requirePassword(deps, "deactivate", user.userId, body.auth);
    if (pending) return pending;
    await deactivate(deps, user.userId, { erase: body.erase ?? false }, log);
    return { id_server_unbind_result: "no-support" };
  },
});
