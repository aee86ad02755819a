/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3room_keyskeys (and the roomId and
 * roomId/sessionId forms): the version (query `version`) must exist, else 404 M_NOT_FOUND. All keys:
 * `{rooms: {room id: {sessions: {...}}}}`; one room: `{sessions: {...}}` (empty when it has none); one session: its
 * KeyBackupData, or 404 M_NOT_FOUND.
 */
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { RoomParams, SessionParams, VersionQuery, existingVersion, keyBackupDataJson } from "./backup-json.js";

type Deps = Pick<UserDataDeps, "keyBackup">;

export const getAllRoomKeys = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/room_keys/keys",
  auth: "access-token",
  query: VersionQuery,
  async handle({ user, query }, { keyBackup }: Deps) {
    await existingVersion(keyBackup, user.userId, query.version);
    const rooms: Record<string, { sessions: Record<string, JsonObject> }> = {};
    for (const s of await keyBackup.getKeys(user.userId, query.version)) (rooms[s.roomId] ??= { sessions: {} }).sessions[s.sessionId] = keyBackupDataJson(s);
    return { rooms };
  },
});

export const getRoomKeys = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/room_keys/keys/:roomId",
  auth: "access-token",
  params: RoomParams,
  query: VersionQuery,
  async handle({ user, params, query }, { keyBackup }: Deps) {
    const roomId = parseRoomId(params.roomId, "roomId");
    await existingVersion(keyBackup, user.userId, query.version);
    const sessions: Record<string, JsonObject> = {};
    for (const s of await keyBackup.getKeys(user.userId, query.version, roomId)) sessions[s.sessionId] = keyBackupDataJson(s);
    return { sessions };
  },
});

export const getSessionKey = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/room_keys/keys/:roomId/:sessionId",
  auth: "access-token",
  params: SessionParams,
  query: VersionQuery,
  async handle({ user, params, query }, { keyBackup }: Deps) {
    const roomId = parseRoomId(params.roomId, "roomId");
    await existingVersion(keyBackup, user.userId, query.version);
    const [s] = await keyBackup.getKeys(user.userId, query.version, roomId, params.sessionId);
    if (!s) throw MatrixError.notFound(`no key for session ${params.sessionId} in ${roomId}`);
    return keyBackupDataJson(s);
  },
});
