/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3directoryroomroomalias
 * A local alias (another server's: 400 M_INVALID_PARAM; over 255 bytes: 400 M_INVALID_PARAM) for a known room
 * (404 M_NOT_FOUND); taken: 409 M_ROOM_IN_USE.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { AliasParams, aliasParam, requireLocalAlias } from "./shared.js";

export const putAlias = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/directory/room/:roomAlias",
  auth: "access-token",
  params: AliasParams,
  body: z.looseObject({ room_id: z.string() }),
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "roomStore" | "serverName">) {
    const alias = aliasParam(params.roomAlias);
    requireLocalAlias(alias, deps.serverName);
    const roomId = parseRoomId(body.room_id);
    if (!(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`unknown room ${roomId}`);
    await deps.rooms.reserveAlias(alias, roomId, user.userId, 409);
    return {};
  },
});
