/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidread_markers
 * `m.fully_read`, `m.read` and `m.read.private` (each optional, each an event of the room); every target is checked
 * before anything is written.
 */
import { z } from "zod";
import { parseRoomId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import { checkReceiptTarget, writeFullyRead, writeReceipt, type ReceiptDeps } from "./shared.js";

const Id = z.string().min(1).max(255).optional();

export const postReadMarkers = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/read_markers",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1).max(255) }),
  body: z.looseObject({ "m.fully_read": Id, "m.read": Id, "m.read.private": Id }),
  async handle({ user, params, body }, deps: ReceiptDeps) {
    const roomId = parseRoomId(params.roomId, "roomId");
    const fully = body["m.fully_read"] !== undefined ? await checkReceiptTarget(deps, roomId, user.userId, body["m.fully_read"], "m.fully_read") : null;
    const read = body["m.read"] !== undefined ? await checkReceiptTarget(deps, roomId, user.userId, body["m.read"], "m.read") : null;
    const priv = body["m.read.private"] !== undefined ? await checkReceiptTarget(deps, roomId, user.userId, body["m.read.private"], "m.read.private") : null;
    if (fully) await writeFullyRead(deps, roomId, user.userId, fully);
    if (read) await writeReceipt(deps, roomId, user.userId, "m.read", read, null);
    if (priv) await writeReceipt(deps, roomId, user.userId, "m.read.private", priv, null);
    return {};
  },
});
