/**
 * Rules shared by the account-data endpoints (https://spec.matrix.org/v1.16/client-server-api/#client-config):
 * only one's own account data; types the server controls are refused for writing with 405 M_BAD_JSON, as the
 * spec's 405 response and Synapse say: `m.fully_read` (set through /read_markers) and `m.push_rules` (through
 * /pushrules).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId, type RoomId } from "../../../core/ids/index.js";
import { UserIdParam } from "../shared/own-user.js";

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
