/**
 * https://spec.matrix.org/v1.16/client-server-api/#delete_matrixclientv3room_keyskeys (and the roomId and
 * roomId/sessionId forms): deletes every key, one room's, or one session's from the version (query `version`,
 * 404 M_NOT_FOUND when unknown); answers `{etag, count}`.
 */
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId, type UserId } from "../../../core/ids/index.js";
import type { KeyBackupStore } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { RoomParams, SessionParams, VersionQuery } from "./backup-json.js";

type Deps = Pick<UserDataDeps, "keyBackup">;

async function del(store: KeyBackupStore, userId: UserId, version: string, roomId?: string, sessionId?: string): Promise<{ etag: string; count: number }> {
  const r = await store.deleteKeys(userId, version, roomId, sessionId);
  if (!r) throw MatrixError.notFound(`unknown backup version ${JSON.stringify(version)}`);
  return r;
}

export const deleteAllRoomKeys = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/room_keys/keys",
  auth: "access-token",
  query: VersionQuery,
  handle: ({ user, query }, { keyBackup }: Deps) => del(keyBackup, user.userId, query.version),
});

export const deleteRoomKeys = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/room_keys/keys/:roomId",
  auth: "access-token",
  params: RoomParams,
  query: VersionQuery,
  handle: ({ user, params, query }, { keyBackup }: Deps) => del(keyBackup, user.userId, query.version, parseRoomId(params.roomId, "roomId")),
});

export const deleteSessionKey = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/room_keys/keys/:roomId/:sessionId",
  auth: "access-token",
  params: SessionParams,
  query: VersionQuery,
  handle: ({ user, params, query }, { keyBackup }: Deps) => del(keyBackup, user.userId, query.version, parseRoomId(params.roomId, "roomId"), params.sessionId),
});
