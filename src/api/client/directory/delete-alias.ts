/**
 * https://spec.matrix.org/v1.16/client-server-api/#delete_matrixclientv3directoryroomroomalias
 * Its creator, a server admin, or a user whose power level allows m.room.canonical_alias in the room may delete
 * it (403 otherwise); unknown: 404 M_NOT_FOUND.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { AliasParams, aliasParam, requireLocalAlias } from "./shared.js";

export const deleteAlias = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/directory/room/:roomAlias",
  auth: "access-token",
  params: AliasParams,
  async handle({ user, params }, deps: Pick<RoomDeps, "roomClient" | "roomReads" | "users" | "serverName">) {
    const alias = aliasParam(params.roomAlias);
    requireLocalAlias(alias, deps.serverName);
    const record = await deps.roomClient.getAlias(alias);
    if (!record) throw MatrixError.notFound(`room alias ${alias} not found`);
    const allowed =
      record.creator === user.userId ||
      (await deps.users.getUser(user.userId))?.admin === true ||
      (await deps.roomReads.maySendState(record.roomId, user.userId, "m.room.canonical_alias"));
    if (!allowed) throw MatrixError.forbidden(`only the alias's creator or a moderator of ${record.roomId} may delete ${alias}`);
    await deps.roomClient.deleteAlias(alias);
    return {};
  },
});
