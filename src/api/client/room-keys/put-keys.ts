/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3room_keyskeys (and the roomId and
 * roomId/sessionId forms)
 * 1. The version (query `version`) must exist (404 M_NOT_FOUND) and be the current one (403
 *    M_WRONG_ROOM_KEYS_VERSION with `current_version`).
 * 2. Bodies: `{rooms: {room id: {sessions: {session id: KeyBackupData}}}}`, `{sessions: {...}}`, or one
 *    KeyBackupData; at most 5,000 sessions. Room ids must be room ids (400 M_INVALID_PARAM).
 * 3. A stored session is replaced only by a better one (the spec's rules: verified over unverified, then the lower
 *    first_message_index, then the lower forwarded_count). Answer: `{etag, count}`; the etag changes when a key did.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { UserId } from "../../../core/ids/index.js";
import { WrongBackupVersionError, type BackupSession, type KeyBackupStore } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { BACKUP_BODY_BYTES, KeyBackupData, MAX_SESSIONS, RoomParams, SessionMap, SessionParams, VersionQuery, existingVersion, sessionOf } from "./backup-json.js";

type Deps = Pick<UserDataDeps, "keyBackup">;

async function put(store: KeyBackupStore, userId: UserId, version: string, sessions: BackupSession[]): Promise<{ etag: string; count: number }> {
  if (sessions.length > MAX_SESSIONS) throw MatrixError.invalidParam("sessions", `at most ${MAX_SESSIONS} sessions per request`);
  await existingVersion(store, userId, version);
  try {
    return await store.putKeys(userId, version, sessions);
  } catch (e) {
    if (e instanceof WrongBackupVersionError) {
      throw new MatrixError("M_WRONG_ROOM_KEYS_VERSION", 403, `version ${version} is not the current backup version`, { current_version: e.currentVersion });
    }
    throw e;
  }
}

export const putAllRoomKeys = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/room_keys/keys",
  auth: "access-token",
  query: VersionQuery,
  body: z.looseObject({ rooms: z.record(z.string().max(255), z.looseObject({ sessions: SessionMap })) }),
  maxBodyBytes: BACKUP_BODY_BYTES,
  async handle({ user, query, body }, { keyBackup }: Deps) {
    const sessions = Object.entries(body.rooms).flatMap(([roomId, r]) => Object.entries(r.sessions).map(([sid, d]) => sessionOf(roomId, sid, d)));
    return put(keyBackup, user.userId, query.version, sessions);
  },
});

export const putRoomKeys = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/room_keys/keys/:roomId",
  auth: "access-token",
  params: RoomParams,
  query: VersionQuery,
  body: z.looseObject({ sessions: SessionMap }),
  maxBodyBytes: BACKUP_BODY_BYTES,
  async handle({ user, params, query, body }, { keyBackup }: Deps) {
    return put(keyBackup, user.userId, query.version, Object.entries(body.sessions).map(([sid, d]) => sessionOf(params.roomId, sid, d)));
  },
});

export const putSessionKey = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/room_keys/keys/:roomId/:sessionId",
  auth: "access-token",
  params: SessionParams,
  query: VersionQuery,
  body: KeyBackupData,
  maxBodyBytes: BACKUP_BODY_BYTES,
  async handle({ user, params, query, body }, { keyBackup }: Deps) {
    return put(keyBackup, user.userId, query.version, [sessionOf(params.roomId, params.sessionId, body)]);
  },
});
