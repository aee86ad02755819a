/**
 * The RoomDirectory of this server, over the client API's alias and published-rooms storage (RoomClientStore,
 * migration 0005) and its /publicRooms paging (api/client/directory), so both APIs list the same rooms the same way.
 * An alias answers the servers with a joined member of the room, this server first.
 */
import { MatrixError } from "../../../core/errors.js";
import type { RoomId, ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { EventStore, RoomClientStore, RoomStore } from "../../../storage/ports.js";
import { listPublicRooms } from "../../client/directory/public-rooms-list.js";
import type { PublicRoomEntry, RoomDirectory } from "./ports.js";

export function localRoomDirectory(deps: { serverName: ServerName; roomClient: RoomClientStore; roomStore: RoomStore; events: EventStore }): RoomDirectory {
  return {
    async getAlias(alias) {
      const record = await deps.roomClient.getAlias(alias);
      if (!record) return null;
      const members = await deps.roomClient.getRoomMembers(record.roomId as RoomId, "join");
      const servers = new Set<ServerName>([deps.serverName]);
      for (const m of members) servers.add(m.slice(m.indexOf(":") + 1) as ServerName);
      return { roomId: record.roomId, servers: [...servers] };
    },
    async publicRooms(q) {
      let page: JsonObject;
      try {
        page = await listPublicRooms(deps, { limit: q.limit, ...(q.since !== undefined ? { since: q.since } : {}), ...(q.genericSearchTerm !== undefined ? { searchTerm: q.genericSearchTerm } : {}) });
      } catch (e) {
        if (e instanceof MatrixError && e.errcode === "M_INVALID_PARAM") return null;
        throw e;
      }
      return {
        chunk: page["chunk"] as unknown as PublicRoomEntry[],
        totalRoomCountEstimate: page["total_room_count_estimate"] as number,
        ...(typeof page["next_batch"] === "string" ? { nextBatch: page["next_batch"] } : {}),
        ...(typeof page["prev_batch"] === "string" ? { prevBatch: page["prev_batch"] } : {}),
      };
    },
  };
}
