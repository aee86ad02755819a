/** What the room, event and directory routes share: path parameters, room id or alias resolution, rate limits. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomAlias, parseRoomId, parseUserId, type RoomAlias, type RoomId, type ServerName, type UserId } from "../../../core/ids/index.js";
import { federationUnavailable } from "../../../rooms/index.js";
import type { RoomClientStore } from "../../../storage/ports.js";
import type { RateLimits } from "../../http/index.js";

export const RoomParams = z.object({ roomId: z.string().min(1) });
export const RoomIdOrAliasParams = z.object({ roomIdOrAlias: z.string().min(1) });
/** Reasons are free text; bounded so an event stays far below the 64 KiB PDU limit. */
export const Reason = z.string().max(16 * 1024).optional();
export const ReasonBody = z.looseObject({ reason: Reason });
export const TargetBody = z.looseObject({ user_id: z.string(), reason: Reason });

export function roomIdParam(raw: string): RoomId {
  return parseRoomId(raw, "roomId");
}

export function userIdField(raw: string, field = "user_id"): UserId {
  return parseUserId(raw, field);
}

export function serverOf(id: string): string {
  return id.slice(id.indexOf(":") + 1);
}

/** A local alias's room (404 M_NOT_FOUND when unknown); another server's alias needs federation (502). */
export async function resolveAlias(alias: RoomAlias, deps: { roomClient: RoomClientStore; serverName: ServerName }): Promise<RoomId> {
  if (serverOf(alias) !== deps.serverName) throw federationUnavailable("query directory", `alias ${alias}`);
  const r = await deps.roomClient.getAlias(alias);
  if (!r) throw MatrixError.notFound(`room alias ${alias} not found`);
  return r.roomId;
}

/** `!room:server` as it is, `#alias:server` resolved; anything else is 400 M_INVALID_PARAM. */
export async function resolveRoomIdOrAlias(raw: string, deps: { roomClient: RoomClientStore; serverName: ServerName }): Promise<RoomId> {
  if (raw.startsWith("#")) return resolveAlias(parseRoomAlias(raw, "roomIdOrAlias"), deps);
  if (raw.startsWith("!")) return parseRoomId(raw, "roomIdOrAlias");
  throw MatrixError.invalidParam("roomIdOrAlias", "must be a room id (!...) or a room alias (#...)");
}

/** The `via` (or deprecated `server_name`) query parameters, as a list. */
export const ViaQuery = z.looseObject({
  via: z.union([z.string(), z.array(z.string())]).optional(),
  server_name: z.union([z.string(), z.array(z.string())]).optional(),
});
export function viaServers(q: z.infer<typeof ViaQuery>): string[] {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return [...list(q.via), ...list(q.server_name)];
}

/** rc_invites: per room, per invitee and per inviter, all checked before any is counted. */
export function takeInvite(rateLimits: RateLimits, roomId: RoomId, inviter: UserId, invitee: UserId): void {
  rateLimits.check("rc_invites.per_room", roomId);
  rateLimits.check("rc_invites.per_user", invitee);
  rateLimits.check("rc_invites.per_issuer", inviter);
  recordInvite(rateLimits, roomId, inviter, invitee);
}

/** Counts an invite that has happened (createRoom's invites, checked before the room was written). */
export function recordInvite(rateLimits: RateLimits, roomId: RoomId, inviter: UserId, invitee: UserId): void {
  rateLimits.record("rc_invites.per_room", roomId);
  rateLimits.record("rc_invites.per_user", invitee);
  rateLimits.record("rc_invites.per_issuer", inviter);
}
