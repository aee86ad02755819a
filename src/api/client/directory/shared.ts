/** What the directory routes share: the alias parameter and the public room summary. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomAlias, type RoomAlias, type RoomId, type ServerName } from "../../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../../core/json/types.js";
import type { RoomDeps } from "../deps.js";
import { serverOf } from "../rooms/shared.js";

export const AliasParams = z.object({ roomAlias: z.string().min(1) });

export function aliasParam(raw: string): RoomAlias {
  return parseRoomAlias(raw, "roomAlias");
}

/** Creating or deleting an alias of another server is not ours to do (400 M_INVALID_PARAM, as Synapse). */
export function requireLocalAlias(alias: RoomAlias, serverName: ServerName): void {
  if (serverOf(alias) !== serverName) throw MatrixError.invalidParam("roomAlias", `must be an alias on this server (${serverName})`);
}

/** A room of the public directory (https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3publicrooms). */
export async function publicRoomChunk(deps: Pick<RoomDeps, "roomStore" | "events">, roomId: RoomId, joined: number): Promise<JsonObject> {
  const keys: Array<[string, string]> = [
    ["m.room.name", "name"],
    ["m.room.topic", "topic"],
    ["m.room.canonical_alias", "alias"],
    ["m.room.avatar", "url"],
    ["m.room.history_visibility", "history_visibility"],
    ["m.room.guest_access", "guest_access"],
    ["m.room.join_rules", "join_rule"],
    ["m.room.create", "type"],
  ];
  const ids = await Promise.all(keys.map(([t]) => deps.roomStore.getCurrentStateEventId(roomId, t, "")));
  const pdus = await deps.events.getPdus(ids.filter((x) => x !== null));
  const field = (i: number): JsonValue | undefined => {
    const id = ids[i];
    return id ? pdus.get(id)?.content[keys[i]![1]] : undefined;
  };
  const out: Record<string, JsonValue> = {
    room_id: roomId,
    num_joined_members: joined,
    world_readable: field(4) === "world_readable",
    guest_can_join: field(5) === "can_join",
    join_rule: typeof field(6) === "string" ? field(6)! : "public",
  };
  const put = (key: string, v: JsonValue | undefined) => {
    if (typeof v === "string") out[key] = v;
  };
  put("name", field(0));
  put("topic", field(1));
  put("canonical_alias", field(2));
  put("avatar_url", field(3));
  put("room_type", field(7));
  return out;
}
