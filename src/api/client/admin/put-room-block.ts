/** PUT /_synapse/admin/v1/rooms/{roomId}/block {block}: blocks a room (known or not) or lifts the block. */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import { setRoomBlock } from "./room-admin.js";
import { AdminRoomParams, adminRoomId } from "./room-param.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";

export const putRoomBlockRoute = defineClientRoute({
  method: "PUT",
  path: "/_synapse/admin/v1/rooms/:roomId/block",
  auth: "access-token",
  params: AdminRoomParams,
  body: z.looseObject({ block: z.boolean({ error: "is required and must be a boolean" }) }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: Pick<AdminDeps, "users" | "admin" | "clock">) {
    const admin = await requireServerAdmin(deps.users, user, log, body.block ? "block room" : "unblock room", params.roomId);
    return setRoomBlock(deps, admin, adminRoomId(params.roomId), body.block);
  },
});
