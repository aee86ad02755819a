/** Shapes shared by the key-backup endpoints: https://spec.matrix.org/v1.16/client-server-api/#server-side-key-backups */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { BackupSession, BackupVersionRecord, KeyBackupStore } from "../../../storage/ports.js";
import type { UserId } from "../../../core/ids/index.js";

/** At most this many sessions in one PUT (clients upload in batches of a few hundred). */
export const MAX_SESSIONS = 5000;
export const BACKUP_BODY_BYTES = 4 * 1024 * 1024;

export const KeyBackupData = z.looseObject({
  first_message_index: z.number().int().nonnegative(),
  forwarded_count: z.number().int().nonnegative(),
  is_verified: z.boolean(),
  session_data: z.looseObject({}),
});
export type KeyBackupDataBody = z.infer<typeof KeyBackupData>;

export const SessionMap = z.record(z.string().min(1).max(255), KeyBackupData);
export const VersionQuery = z.object({ version: z.string().min(1).max(32) });
export const RoomParams = z.object({ roomId: z.string().min(1).max(255) });
export const SessionParams = z.object({ roomId: z.string().min(1).max(255), sessionId: z.string().min(1).max(255) });

export function sessionOf(roomId: string, sessionId: string, d: KeyBackupDataBody): BackupSession {
  return {
    roomId: parseRoomId(roomId, "roomId"),
    sessionId,
    firstMessageIndex: d.first_message_index,
    forwardedCount: d.forwarded_count,
    isVerified: d.is_verified,
    sessionData: d.session_data as JsonObject,
  };
}

export function keyBackupDataJson(s: BackupSession): JsonObject {
  return { first_message_index: s.firstMessageIndex, forwarded_count: s.forwardedCount, is_verified: s.isVerified, session_data: s.sessionData };
}

export function versionJson(v: BackupVersionRecord): JsonObject {
  return { algorithm: v.algorithm, auth_data: v.authData, count: v.count, etag: v.etag, version: v.version };
}

/** The named version, or 404 M_NOT_FOUND. */
export async function existingVersion(store: KeyBackupStore, userId: UserId, version: string): Promise<BackupVersionRecord> {
  const v = await store.getVersion(userId, version);
  if (!v) throw MatrixError.notFound(`unknown backup version ${JSON.stringify(version)}`);
  return v;
}
