/**
 * Rules shared by the account-data endpoints (https://spec.matrix.org/v1.16/client-server-api/#client-config):
 * only one's own account data; types the server controls are refused for writing with 405 M_BAD_JSON, as the
 * spec's 405 response and Synapse say: `m.fully_read` (set through /read_markers) and `m.push_rules` (through
 * /pushrules).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId, type RoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { AccountDataStore } from "../../../storage/ports.js";
import type { AuthenticatedUser } from "../../http/index.js";
import { UserIdParam, ownUser } from "../shared/own-user.js";

export const ACCOUNT_DATA_BODY_BYTES = 1024 * 1024;
export const GlobalParams = z.object({ userId: UserIdParam, type: z.string().min(1).max(255) });
export const RoomParams = z.object({ userId: UserIdParam, roomId: z.string().min(1).max(255), type: z.string().min(1).max(255) });

const SERVER_CONTROLLED: Readonly<Record<string, string>> = {
  "m.fully_read": "/rooms/{roomId}/read_markers",
  "m.push_rules": "/pushrules",
};

export function refuseServerControlled(type: string): void {
  const instead = SERVER_CONTROLLED[type];
  if (instead !== undefined) throw new MatrixError("M_BAD_JSON", 405, `cannot set ${type} through this API; use ${instead}`);
}

/**
 * Any syntactically valid room id is accepted, joined or not, as Synapse does (it checks only RoomID.is_valid):
 * clients keep tags and settings for rooms they have left, and membership would not protect anything here since
 * only the user itself reads its account data.
 */
export function roomIdOf(raw: string): RoomId {
  return parseRoomId(raw, "roomId");
}

/** GET, global (`rawRoomId` undefined) or per room: one's own only; unset is 404 M_NOT_FOUND. */
export async function readAccountData(store: AccountDataStore, user: AuthenticatedUser, rawUserId: string, rawRoomId: string | undefined, type: string): Promise<JsonObject> {
  const userId = ownUser(user, rawUserId, "get account data");
  const roomId = rawRoomId === undefined ? null : roomIdOf(rawRoomId);
  const content = await store.get(userId, roomId, type);
  if (!content) throw MatrixError.notFound(`no account data of type ${type}${roomId ? ` in ${roomId}` : ""}`);
  return content;
}

/** PUT, global or per room: one's own only, a valid room id, not a server-controlled type. */
export async function writeAccountData(store: AccountDataStore, user: AuthenticatedUser, rawUserId: string, rawRoomId: string | undefined, type: string, content: JsonObject): Promise<Record<string, never>> {
  const userId = ownUser(user, rawUserId, "add account data");
  const roomId = rawRoomId === undefined ? null : roomIdOf(rawRoomId);
  refuseServerControlled(type);
  await store.put(userId, roomId, type, content);
  return {};
}
