/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidinvite
 * `user_id` (M_BAD_JSON when missing or not a string, M_INVALID_PARAM when not a user id); the auth rules decide
 * (403). An invitee on another server is invited over federation (v2 invite, v1 for room versions 1-2): a refusal is
 * that server's status and errcode, no answer (or no valid signature) is 502 M_UNKNOWN, and either way nothing is
 * written. rc_invites per room, invitee and inviter.
 */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam, takeInvite, TargetBody, userIdField } from "./shared.js";

export const invite = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/invite",
  auth: "access-token",
  params: RoomParams,
  body: TargetBody,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "rateLimits">) {
    const roomId = roomIdParam(params.roomId);
    const target = userIdField(body.user_id);
    takeInvite(deps.rateLimits, roomId, user.userId, target);
    await deps.rooms.invite(roomId, user.userId, target, body.reason !== undefined ? { reason: body.reason } : {});
    return {};
  },
});
