/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3presenceuseridstatus
 * Oneself or a user sharing a room (403 otherwise); a local user never seen is offline; 404 for unknown local users.
 * A remote user's presence is what their server last sent (m.presence EDUs, src/sync/edus); offline when none.
 * With presence.enabled false every user is `{presence: "offline"}` to everyone, before any check (as Synapse).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { SyncDeps, UserDataDeps } from "../deps.js";
import { presenceContent } from "../../../sync/index.js";
import { maySeePresence } from "./shared.js";

export const getPresence = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/presence/:userId/status",
  auth: "access-token",
  params: z.object({ userId: z.string().min(1).max(255) }),
  async handle({ user, params }, deps: Pick<SyncDeps, "presence" | "roomStore" | "clock" | "presenceEnabled"> & Pick<UserDataDeps, "users" | "serverName">) {
    const target = parseUserId(params.userId, "userId");
    if (!deps.presenceEnabled) return { presence: "offline" };
    if (serverOfUserId(target) === deps.serverName && !(await deps.users.getUser(target))) throw MatrixError.notFound(`no user ${target}`);
    if (!(await maySeePresence(deps, user.userId, target))) throw MatrixError.forbidden("you are not allowed to see their presence");
    return presenceContent(await deps.presence.get(target), deps.clock.now());
  },
});
