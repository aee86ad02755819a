/**
 * The stripped state an invite or knock shows in /sync and sliding sync
 * (https://spec.matrix.org/v1.16/client-server-api/#stripped-state): of a room this server holds, the current
 * STRIPPED_STATE_TYPES events and the user's own member event; of a room it does not hold (an invite or knock over
 * federation), the stripped state the other server sent, stored beside the out-of-band membership, with the user's
 * own member event in place of any the other server sent.
 */
import { STRIPPED_STATE_TYPES, strippedOf } from "../core/rooms/index.js";
import type { Pdu } from "../core/events/index.js";
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { Storage } from "../storage/ports.js";

type StrippedStorage = Pick<Storage, "rooms" | "events">;

/** /sync's: the membership record tells whether the room is held; the member event is read from it or the state. */
export async function strippedState(storage: StrippedStorage, roomId: RoomId, userId: UserId): Promise<JsonObject[]> {
  const record = await storage.rooms.getMembership(roomId, userId);
  if (record?.strippedState) {
    const own = (await storage.events.getPdus([record.eventId])).get(record.eventId);
    return outOfBandStrippedState(record.strippedState, userId, own);
  }
  return heldRoomStrippedState(storage, roomId, userId);
}

/** A held room's: its current STRIPPED_STATE_TYPES events, then `memberOf`'s current member event when given. */
export async function heldRoomStrippedState(storage: StrippedStorage, roomId: RoomId, memberOf?: UserId): Promise<JsonObject[]> {
  const ids = await Promise.all([
    ...STRIPPED_STATE_TYPES.map((t) => storage.rooms.getCurrentStateEventId(roomId, t, "")),
    ...(memberOf !== undefined ? [storage.rooms.getCurrentStateEventId(roomId, "m.room.member", memberOf)] : []),
  ]);
  const pdus = await storage.events.getPdus(ids.filter((x): x is EventId => x !== null));
  const out: JsonObject[] = [];
  for (const id of ids) {
    const p = id ? pdus.get(id) : undefined;
    if (p) out.push(strippedOf(p));
  }
  return out;
}

/** A room not held here: what the other server sent, the user's own member event (`own`) in place of theirs. */
export function outOfBandStrippedState(sent: readonly JsonObject[], userId: string | undefined, own: Pdu | undefined): JsonObject[] {
  const out = sent.filter((e) => !(e["type"] === "m.room.member" && e["state_key"] === userId));
  if (own) out.push(strippedOf(own));
  return out;
}
