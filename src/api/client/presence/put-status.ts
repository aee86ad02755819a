/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3presenceuseridstatus
 * Only one's own; `presence` online, unavailable or offline; `status_msg` a string (absent: the stored one is kept).
 * Recorded by PresenceTracker.set (src/sync/presence.ts: told to others only when significant). With
 * presence.enabled false the request succeeds and nothing is stored (as Synapse).
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { SyncDeps } from "../deps.js";
import { ownUser } from "../shared/own-user.js";
import { PRESENCE_STATES } from "../../../sync/index.js";

export const putPresence = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/presence/:userId/status",
  auth: "access-token",
  params: z.object({ userId: z.string().min(1).max(255) }),
  body: z.looseObject({ presence: z.enum(PRESENCE_STATES), status_msg: z.string().max(1000).nullable().optional() }),
  async handle({ user, params, body }, deps: Pick<SyncDeps, "presenceTracker" | "presenceEnabled">) {
    const userId = ownUser(user, params.userId, "set presence");
    if (!deps.presenceEnabled) return {};
    await deps.presenceTracker.set(userId, user.deviceId, body.presence, body.status_msg);
    return {};
  },
});
