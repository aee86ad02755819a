/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidjoined_members: members (or world_readable rooms) only. */
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

export const joinedMembers = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/rooms/:roomId/joined_members",
  auth: "access-token",
  params: RoomParams,
  async handle({ user, params }, deps: Pick<RoomDeps, "rooms" | "roomReads" | "roomClient" | "roomStore" | "events">) {
    const roomId = roomIdParam(params.roomId);
    const view = await deps.roomReads.stateView(roomId, user.userId);
    if (view.at !== "current") throw MatrixError.forbidden(`${user.userId} is not in room ${roomId}`);
    // Joined with members omitted: the answer waits for the whole member list (rooms/partial-state.ts).
    await deps.rooms.awaitFullState(roomId);
    const joined: Record<string, JsonObject> = {};
    const userIds = await deps.roomClient.getRoomMembers(roomId, "join");
    const ids = await Promise.all(userIds.map((u) => deps.roomStore.getCurrentStateEventId(roomId, "m.room.member", u)));
    const pdus = await deps.events.getPdus(ids.filter((x) => x !== null));
    userIds.forEach((u, i) => {
      const c = ids[i] ? pdus.get(ids[i]!)?.content : undefined;
      const entry: Record<string, string | null> = {};
      entry["display_name"] = typeof c?.["displayname"] === "string" ? c["displayname"] : null;
      entry["avatar_url"] = typeof c?.["avatar_url"] === "string" ? c["avatar_url"] : null;
      joined[u] = entry;
    });
    return { joined };
  },
});
