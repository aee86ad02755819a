/**
 * A joined room's `summary` in /sync (https://spec.matrix.org/v1.16/client-server-api/#_matrixclientv3sync_roomsummary):
 * the joined and invited counts, and `m.heroes` (up to 5 other joined or invited members by id; with none, the left
 * and banned ones, as the spec says), which is "required if the room's m.room.name or
 * m.room.canonical_alias state events are unset or empty" and only then sent (as Synapse): a named room needs none,
 * and under lazy loading their member events would go with them (rooms-provider.ts, `state`). Every read is shared
 * by the requests computing up to the same position (position-memo.ts).
 */
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { Storage, StreamOrdering } from "../storage/ports.js";
import type { PositionMemo } from "./position-memo.js";

/** Members the room summary names at most. */
export const MAX_HEROES = 5;

export type SummaryStorage = Pick<Storage, "rooms" | "events" | "roomClient">;

export async function roomSummary(storage: SummaryStorage, shared: PositionMemo, to: StreamOrdering, roomId: RoomId, userId: UserId): Promise<JsonObject> {
  const members = (m: "join" | "invite" | "leave" | "ban") => shared.get(to, `members|${roomId}|${m}`, () => storage.roomClient.getRoomMembers(roomId, m));
  const [joinedMembers, invitedMembers, isNamed] = await Promise.all([members("join"), members("invite"), shared.get(to, `named|${roomId}`, () => named(storage, roomId))]);
  const counts = { "m.joined_member_count": joinedMembers.length, "m.invited_member_count": invitedMembers.length };
  if (isNamed) return counts;
  let heroes = [...joinedMembers, ...invitedMembers].filter((u) => u !== userId);
  if (heroes.length === 0) {
    // "When no joined or invited members are available, this should consist of the banned and left users."
    const gone = await Promise.all([members("leave"), members("ban")]);
    heroes = gone.flat().filter((u) => u !== userId);
  }
  return { "m.heroes": heroes.sort().slice(0, MAX_HEROES), ...counts };
}

/** Whether the room has a non-empty m.room.name or m.room.canonical_alias now. */
async function named(storage: SummaryStorage, roomId: RoomId): Promise<boolean> {
  const ids = await Promise.all(["m.room.name", "m.room.canonical_alias"].map((t) => storage.rooms.getCurrentStateEventId(roomId, t, "")));
  const pdus = await storage.events.getPdus(ids.filter((x): x is EventId => x !== null));
  return [...pdus.values()].some((p) => {
    const v = p.type === "m.room.name" ? p.content["name"] : p.content["alias"];
    return typeof v === "string" && v !== "";
  });
}
