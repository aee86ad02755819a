/** The {roomId} path parameter of the admin room endpoints: 400 M_INVALID_PARAM when it is not a room id. */
import { z } from "zod";
import { parseRoomId, type RoomId } from "../../../core/ids/index.js";

export const AdminRoomParams = z.object({ roomId: z.string().max(255) });
export const adminRoomId = (raw: string): RoomId => parseRoomId(raw, "room_id");
