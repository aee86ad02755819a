/** What the receipt and read-marker routes share: the checks before a receipt, and writing one with its wake-up. */
import { MatrixError } from "../../../core/errors.js";
import { parseEventId, type EventId, type RoomId, type UserId } from "../../../core/ids/index.js";
import type { SyncDeps } from "../deps.js";

export type ReceiptDeps = Pick<SyncDeps, "receipts" | "accountData" | "notifier" | "events" | "roomStore" | "clock">;

/** The user must be joined; the event must be one of the room's (404 M_NOT_FOUND otherwise, as Synapse). */
export async function checkReceiptTarget(deps: ReceiptDeps, roomId: RoomId, userId: UserId, rawEventId: string, field: string): Promise<EventId> {
  const eventId = parseEventId(rawEventId, field);
  const joined = await deps.roomStore.getRoomsForUser(userId, "join");
  if (!joined.includes(roomId)) throw MatrixError.forbidden(`${userId} is not in room ${roomId}`);
  const ev = (await deps.events.getEvents([eventId])).get(eventId);
  if (!ev || ev.pdu.roomId !== roomId || ev.outlier) throw MatrixError.notFound(`event ${eventId} not found in ${roomId}`);
  return eventId;
}

/** m.read / m.read.private: stored in the receipts stream; the room's waiting syncs are woken. */
export async function writeReceipt(deps: ReceiptDeps, roomId: RoomId, userId: UserId, receiptType: string, eventId: EventId, threadId: string | null): Promise<void> {
  const pos = await deps.receipts.put({ roomId, userId, receiptType, threadId, eventId, ts: deps.clock.now() });
  if (receiptType === "m.read.private") deps.notifier.notifyUser("receipts", userId, pos);
  else deps.notifier.notifyRoom("receipts", roomId, pos);
}

/** m.fully_read: the room account data of that type (https://spec.matrix.org/v1.16/client-server-api/#fully-read-markers). */
export async function writeFullyRead(deps: ReceiptDeps, roomId: RoomId, userId: UserId, eventId: EventId): Promise<void> {
  const pos = await deps.accountData.put(userId, roomId, "m.fully_read", { event_id: eventId });
  deps.notifier.notifyUser("accountData", userId, pos);
}
