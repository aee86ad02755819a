/**
 * The stripped state an invite or knock shows in /sync (https://spec.matrix.org/v1.16/client-server-api/#stripped-state):
 * create, join rules, name, avatar, canonical alias, encryption, topic and the user's own member event; for a room
 * this server does not hold (an invite or knock over federation), the stripped state the other server sent, stored
 * beside the out-of-band membership, with the member event.
 */
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { Storage } from "../storage/ports.js";

const STRIPPED_TYPES = ["m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar", "m.room.canonical_alias", "m.room.encryption", "m.room.topic"] as const;

export async function strippedState(storage: Pick<Storage, "rooms" | "events">, roomId: RoomId, userId: UserId): Promise<JsonObject[]> {
  const record = await storage.rooms.getMembership(roomId, userId);
  if (record?.strippedState) {
    const own = (await storage.events.getPdus([record.eventId])).get(record.eventId);
    const out = record.strippedState.filter((e) => !(e["type"] === "m.room.member" && e["state_key"] === userId));
    if (own) out.push({ type: own.type, state_key: own.stateKey ?? "", content: own.content, sender: own.sender });
    return out;
  }
  const ids = await Promise.all([...STRIPPED_TYPES.map((t) => storage.rooms.getCurrentStateEventId(roomId, t, "")), storage.rooms.getCurrentStateEventId(roomId, "m.room.member", userId)]);
  const pdus = await storage.events.getPdus(ids.filter((x): x is EventId => x !== null));
  const out: JsonObject[] = [];
  for (const id of ids) {
    const p = id ? pdus.get(id) : undefined;
    if (p) out.push({ type: p.type, state_key: p.stateKey ?? "", content: p.content, sender: p.sender });
  }
  return out;
}
