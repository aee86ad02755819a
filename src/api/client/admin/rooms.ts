/**
 * The admin API's room reads (Synapse's /_synapse/admin/v1/rooms/{roomId}, /members, /state), from the room's
 * current state; shared by the routes beside this file.
 */
import { MatrixError } from "../../../core/errors.js";
import type { Pdu } from "../../../core/events/index.js";
import { serverOfUserId, type RoomId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/index.js";
import type { RoomDeps } from "../deps.js";

type Deps = Pick<RoomDeps, "roomStore" | "roomClient" | "events" | "roomReads" | "clock" | "serverName">;

async function currentState(deps: Deps, roomId: RoomId): Promise<Pdu[]> {
  if (!(await deps.roomStore.getRoom(roomId))) throw MatrixError.notFound(`Room not found: ${roomId}`);
  const state = await deps.roomStore.getCurrentState(roomId);
  return [...(await deps.events.getPdus([...state.values()])).values()];
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** GET /_synapse/admin/v1/rooms/{roomId}: Synapse's room fields, read from the current state. */
export async function roomDetails(deps: Deps, roomId: RoomId) {
  const room = (await deps.roomStore.getRoom(roomId))!;
  const state = await currentState(deps, roomId);
  const content = (type: string): JsonObject | undefined => state.find((p) => p.type === type && p.stateKey === "")?.content;
  const joined = state.filter((p) => p.type === "m.room.member" && p.content["membership"] === "join").map((p) => p.stateKey as UserId);
  const create = content("m.room.create") ?? {};
  return {
    room_id: roomId,
    name: str(content("m.room.name")?.["name"]),
    topic: str(content("m.room.topic")?.["topic"]),
    avatar: str(content("m.room.avatar")?.["url"]),
    canonical_alias: str(content("m.room.canonical_alias")?.["alias"]),
    joined_members: joined.length,
    joined_local_members: joined.filter((u) => serverOfUserId(u) === deps.serverName).length,
    joined_local_devices: null,
    version: room.roomVersion,
    creator: room.creator,
    encryption: str(content("m.room.encryption")?.["algorithm"]),
    federatable: create["m.federate"] !== false,
    public: await deps.roomClient.isPublished(roomId),
    join_rules: str(content("m.room.join_rules")?.["join_rule"]),
    guest_access: str(content("m.room.guest_access")?.["guest_access"]),
    history_visibility: str(content("m.room.history_visibility")?.["history_visibility"]),
    state_events: state.length,
    room_type: str(create["type"]),
    forgotten: false,
  };
}

/** GET /_synapse/admin/v1/rooms/{roomId}/members: the joined members, ordered by user id. */
export async function roomMembers(deps: Deps, roomId: RoomId) {
  const state = await currentState(deps, roomId);
  const members = state.filter((p) => p.type === "m.room.member" && p.content["membership"] === "join").map((p) => p.stateKey!).sort();
  return { members, total: members.length };
}

/** GET /_synapse/admin/v1/rooms/{roomId}/state: the current state events in the client format. */
export async function roomState(deps: Deps, roomId: RoomId) {
  const state = await currentState(deps, roomId);
  return { state: await deps.roomReads.clientEvents(state, deps.clock.now()) };
}
