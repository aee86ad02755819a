/**
 * unread_notifications and unread_thread_notifications of a joined room
 * (https://spec.matrix.org/v1.16/client-server-api/#receiving-notifications): the push actions stored for the user
 * when the events were persisted (rooms/push-actions.ts, migration 0017) after the user's read receipt, and those
 * that highlight. Unthreaded counts start from the newer of the unthreaded and the "main" receipt; with
 * `unread_thread_notifications` each thread counts from its own receipt (or the unthreaded one, when newer) and the
 * room's counts hold only the main timeline.
 *
 * The counts are what the rules said when each event arrived (as Synapse's event_push_actions): changing a push
 * rule changes the counting of later events, not of those already received.
 */
import type { RoomId, UserId } from "../core/ids/index.js";
import type { Storage, StreamOrdering } from "../storage/ports.js";

export interface UnreadCounts {
  readonly room: { notification_count: number; highlight_count: number };
  readonly threads: Record<string, { notification_count: number; highlight_count: number }>;
}

export type UnreadStorage = Pick<Storage, "receipts" | "events" | "pushActions">;

/** The stream ordering of the user's newest m.read / m.read.private receipt in the room for `threadId` (0: none). */
export async function receiptOrdering(storage: UnreadStorage, roomId: RoomId, userId: UserId, threadId: string | null): Promise<StreamOrdering> {
  let best = 0;
  for (const type of ["m.read", "m.read.private"]) {
    const r = await storage.receipts.get(roomId, userId, type, threadId);
    if (!r) continue;
    const pos = await storage.events.getRoomPosition(r.eventId);
    if (pos && pos.stream > best) best = pos.stream;
  }
  return best;
}

export async function unreadCounts(storage: UnreadStorage, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean): Promise<UnreadCounts> {
  const unthreaded = Math.max(await receiptOrdering(storage, roomId, userId, null), await receiptOrdering(storage, roomId, userId, "main"));
  const room = { notification_count: 0, highlight_count: 0 };
  const threads: Record<string, { notification_count: number; highlight_count: number }> = {};
  const counted = await storage.pushActions.countByThread(userId, roomId, unthreaded, to);
  for (const [threadId, c] of counted) {
    if (!perThread || threadId === null) {
      room.notification_count += c.notifications;
      room.highlight_count += c.highlights;
      continue;
    }
    // A thread with its own, newer receipt counts from there.
    const own = await receiptOrdering(storage, roomId, userId, threadId);
    const n = own > unthreaded ? (await storage.pushActions.countByThread(userId, roomId, own, to, threadId)).get(threadId) : c;
    if (n && n.notifications > 0) threads[threadId] = { notification_count: n.notifications, highlight_count: n.highlights };
  }
  return { room, threads };
}
