/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidupgrade
 *
 * `new_version` (required; a version Zion does not know: 400 M_UNSUPPORTED_ROOM_VERSION), `additional_creators`
 * (v12+, at most MAX_ADDITIONAL_CREATORS user ids). The upgrader must be joined and allowed to send
 * m.room.tombstone (403 M_FORBIDDEN); everything is checked before anything is written (rooms/room-upgrade.ts).
 * Answers `{replacement_room}`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, type UserId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "./shared.js";

export const MAX_ADDITIONAL_CREATORS = 100;

export const upgradeRoom = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/upgrade",
  auth: "access-token",
  params: RoomParams,
  body: z.looseObject({ new_version: z.unknown().optional(), additional_creators: z.unknown().optional() }),
  async handle({ user, params, body }, deps: Pick<RoomDeps, "roomUpgrades">) {
    const roomId = roomIdParam(params.roomId);
    if (body.new_version === undefined) throw MatrixError.missingParam("new_version");
    if (typeof body.new_version !== "string") throw MatrixError.badJson("new_version: must be a string");
    let additionalCreators: UserId[] | undefined;
    if (body.additional_creators !== undefined) {
      if (!Array.isArray(body.additional_creators) || body.additional_creators.some((u) => typeof u !== "string")) throw MatrixError.badJson("additional_creators: must be a list of user ids");
      if (body.additional_creators.length > MAX_ADDITIONAL_CREATORS) throw MatrixError.invalidParam("additional_creators", `at most ${MAX_ADDITIONAL_CREATORS} user ids`);
      additionalCreators = (body.additional_creators as string[]).map((u) => parseUserId(u, "additional_creators"));
    }
    const replacement = await deps.roomUpgrades.upgrade(roomId, user.userId, body.new_version, additionalCreators ? { additionalCreators } : {});
    return { replacement_room: replacement };
  },
});
