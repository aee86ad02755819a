/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid
 * receiptType m.read, m.read.private or m.fully_read (else 400 M_INVALID_PARAM); `thread_id` "main" or a thread
 * root's event id (threaded receipts), not with m.fully_read; joined members only; the event must be in the room.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseEventId, parseRoomId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import { checkReceiptTarget, writeFullyRead, writeReceipt, type ReceiptDeps } from "./shared.js";

const TYPES = new Set(["m.read", "m.read.private", "m.fully_read"]);

export const postReceipt = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1).max(255), receiptType: z.string().min(1).max(255), eventId: z.string().min(1).max(255) }),
  body: z.looseObject({ thread_id: z.string().min(1).max(255).optional() }),
  emptyBodyIsObject: true,
  async handle({ user, params, body }, deps: ReceiptDeps) {
    const roomId = parseRoomId(params.roomId, "roomId");
    if (!TYPES.has(params.receiptType)) throw MatrixError.invalidParam("receiptType", `must be m.read, m.read.private or m.fully_read, not ${params.receiptType}`);
    const threadId = body.thread_id ?? null;
    if (threadId !== null) {
      if (params.receiptType === "m.fully_read") throw MatrixError.invalidParam("thread_id", "does not apply to m.fully_read");
      if (threadId !== "main") parseEventId(threadId, "thread_id");
    }
    const eventId = await checkReceiptTarget(deps, roomId, user.userId, params.eventId, "eventId");
    if (params.receiptType === "m.fully_read") await writeFullyRead(deps, roomId, user.userId, eventId);
    else await writeReceipt(deps, roomId, user.userId, params.receiptType, eventId, threadId);
    return {};
  },
});
