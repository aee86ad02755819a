/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3createroom
 *
 * 1. The body is parsed by core/rooms (wrong types M_BAD_JSON, bad values M_INVALID_PARAM, an unknown room
 *    version M_UNSUPPORTED_ROOM_VERSION), room_alias_name made into a local alias (over-long: M_INVALID_PARAM).
 * 2. rc_invites counts each invite (checked before anything is written).
 * 3. The room service builds the planned events and persists them in one call; the alias is reserved first
 *    (taken: 400 M_ROOM_IN_USE). Invitees on other servers are then invited over federation, one by one, as
 *    Synapse does: a refusal or an unreachable server fails the request, and the room stays, with the invites
 *    that went through.
 */
import { z } from "zod";
import { parseCreateRoomRequest, roomAliasFromName } from "../../../core/rooms/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { recordInvite } from "./shared.js";

export const createRoom = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/createRoom",
  auth: "access-token",
  body: z.looseObject({}),
  emptyBodyIsObject: true,
  maxBodyBytes: 1024 * 1024,
  async handle({ user, body }, deps: Pick<RoomDeps, "rooms" | "roomSettings" | "serverName" | "rateLimits">) {
    // Step 1
    const req = parseCreateRoomRequest(body, user.userId, { defaultRoomVersion: deps.roomSettings.defaultRoomVersion });
    const alias = req.roomAliasName !== undefined ? roomAliasFromName(req.roomAliasName, deps.serverName) : undefined;
    // Step 2
    for (const u of req.invite) deps.rateLimits.check("rc_invites.per_user", u);
    if (req.invite.length > 0) deps.rateLimits.check("rc_invites.per_issuer", user.userId);
    // Step 3
    const roomId = await deps.rooms.createRoom(user.userId, req, alias ? { alias } : {});
    for (const u of req.invite) recordInvite(deps.rateLimits, roomId, user.userId, u);
    return alias ? { room_id: roomId, room_alias: alias } : { room_id: roomId };
  },
});
