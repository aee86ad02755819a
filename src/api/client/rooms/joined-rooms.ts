/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3joined_rooms */
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";

export const joinedRooms = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/joined_rooms",
  auth: "access-token",
  async handle({ user }, { roomStore }: Pick<RoomDeps, "roomStore">) {
    return { joined_rooms: [...(await roomStore.getRoomsForUser(user.userId, "join"))] };
  },
});
