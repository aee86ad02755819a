/** The body of DELETE /_synapse/admin/v1|v2/rooms/{roomId}, checked; shared by both routes. */
import { z } from "zod";
import { parseUserId } from "../../../core/ids/index.js";
import type { RoomDeletion } from "./room-admin.js";

export const DeleteRoomBody = z.looseObject({
  new_room_user_id: z.string().max(255).optional(),
  room_name: z.string().max(255).optional(),
  message: z.string().max(65536).optional(),
  block: z.boolean().optional(),
  purge: z.boolean().optional(),
  force_purge: z.boolean().optional(),
});

export function roomDeletion(body: z.infer<typeof DeleteRoomBody>): RoomDeletion {
  return {
    newRoomUserId: body.new_room_user_id === undefined ? undefined : parseUserId(body.new_room_user_id, "new_room_user_id"),
    roomName: body.room_name,
    message: body.message,
    block: body.block,
    purge: body.purge,
    forcePurge: body.force_purge,
  };
}
