/**
 * A room persisted straight into a storage (no auth checks), with the given members' latest memberships and,
 * optionally, a server ACL (for the EDU unit tests of src/sync/edus). Returns the events in order.
 */
import { randomBytes } from "node:crypto";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import { buildPdu, type Pdu } from "../../src/core/events/index.js";
import { stateKeyOf, type StateKey } from "../../src/core/events/pdu.js";
import type { EventId, RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import type { Storage } from "../../src/storage/ports.js";

const V11 = roomVersion("11");

export async function persistTestRoom(
  storage: Storage, roomId: RoomId, creator: UserId,
  memberships: readonly (readonly [UserId, "join" | "leave"])[], acl?: JsonObject,
): Promise<Pdu[]> {
  const server = creator.slice(creator.indexOf(":") + 1) as ServerName;
  const key = signingKeyFromSeed("t1", randomBytes(32));
  const events: Pdu[] = [];
  const state = new Map<StateKey, EventId>();
  const add = (type: string, sender: string, content: JsonObject, stateKey: string) => {
    const p = buildPdu(V11, {
      type, sender, content, roomId, stateKey, prevEvents: events.length ? [events.at(-1)!.eventId] : [], authEvents: [],
      depth: events.length + 1, originServerTs: 1_000 + events.length,
    }, { serverName: server, key });
    events.push(p);
    state.set(stateKeyOf(type, stateKey), p.eventId);
  };
  add("m.room.create", creator, { room_version: "11" }, "");
  add("m.room.member", creator, { membership: "join" }, creator);
  for (const [u, m] of memberships) {
    add("m.room.member", u, { membership: "join" }, u);
    if (m === "leave") add("m.room.member", u, { membership: "leave" }, u);
  }
  if (acl) add("m.room.server_acl", creator, acl, "");
  await storage.events.persistEvents({
    events: events.map((pdu, i) => ({ pdu, stateBefore: i === 0 ? { state: new Map() } : { after: events[i - 1]!.eventId } })),
    rooms: [{ roomId, roomVersion: "11", creator: creator as never }],
    state: [{ roomId, set: state }],
    receivedTs: 1_000,
  });
  return events;
}
