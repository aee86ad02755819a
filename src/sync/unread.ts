/**
 * unread_notifications and unread_thread_notifications of a joined room
 * (https://spec.matrix.org/v1.16/client-server-api/#receiving-notifications): the push actions stored for the user
 * when the events were persisted (rooms/push-actions.ts, migration 0018) after the user's read receipt, and those
 * that highlight. The main timeline counts from the newer of the unthreaded and the "main" receipt, each thread from
 * the newer of the unthreaded receipt and its own; with `unread_thread_notifications` the room's counts hold only
 * the main timeline and each thread has its own, without it the room's counts are the sum.
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

/**
 * Counts computed before, per (user, room, per-thread or not), valid while the receipts stream has not moved: a sync
 * at the same position reuses them, and one further on adds the actions stored since (unthreaded counts only). In
 * memory, at most MAX_CACHED entries (then it starts afresh).
 */
export class UnreadCache {
  static readonly MAX_CACHED = 100_000;
  private readonly entries = new Map<string, { readonly receipts: number; readonly upTo: StreamOrdering; readonly unthreaded: StreamOrdering; readonly counts: UnreadCounts }>();

  get(key: string, receipts: number) {
    const e = this.entries.get(key);
    return e && e.receipts === receipts ? e : undefined;
  }

  set(key: string, receipts: number, upTo: StreamOrdering, unthreaded: StreamOrdering, counts: UnreadCounts): void {
    if (this.entries.size >= UnreadCache.MAX_CACHED) this.entries.clear();
    this.entries.set(key, { receipts, upTo, unthreaded, counts: copy(counts) });
  }
}

/** A cache and the receipts stream position now. */
export interface UnreadReuse {
  readonly cache: UnreadCache;
  readonly receipts: number;
}

const copy = (c: UnreadCounts): UnreadCounts => ({
  room: { ...c.room },
  threads: Object.fromEntries(Object.entries(c.threads).map(([k, v]) => [k, { ...v }])),
});

export async function unreadCounts(storage: UnreadStorage, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean, reuse?: UnreadReuse): Promise<UnreadCounts> {
  const key = `${userId}|${roomId}|${perThread ? 1 : 0}`;
  const cached = reuse?.cache.get(key, reuse.receipts);
  if (cached && cached.upTo === to) return copy(cached.counts);
  if (cached && cached.upTo < to && !perThread) {
    // Receipts unchanged: the counts so far plus the actions stored since (after every receipt, so all unread).
    const counts = copy(cached.counts);
    for (const c of (await storage.pushActions.countByThread(userId, roomId, Math.max(cached.unthreaded, cached.upTo), to)).values()) {
      counts.room.notification_count += c.notifications;
      counts.room.highlight_count += c.highlights;
    }
    reuse!.cache.set(key, reuse!.receipts, to, cached.unthreaded, counts);
    return counts;
  }
  const unthreaded = await receiptOrdering(storage, roomId, userId, null);
  const counts = await count(storage, roomId, userId, to, perThread, unthreaded);
  reuse?.cache.set(key, reuse.receipts, to, unthreaded, counts);
  return counts;
}

/**
 * The counts per partition (the main timeline and each thread), each from the newer of the unthreaded receipt and
 * its own (`main` for the main timeline, the root's id for a thread): a threaded receipt marks only its thread read.
 * Without `perThread` the room's counts are their sum (as Synapse), so a threaded receipt lowers them too.
 */
async function count(storage: UnreadStorage, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean, unthreaded: StreamOrdering): Promise<UnreadCounts> {
  const room = { notification_count: 0, highlight_count: 0 };
  const threads: Record<string, { notification_count: number; highlight_count: number }> = {};
  const counted = await storage.pushActions.countByThread(userId, roomId, unthreaded, to);
  for (const [threadId, c] of counted) {
    // A partition with its own, newer receipt counts from there.
    const own = await receiptOrdering(storage, roomId, userId, threadId ?? "main");
    const n = own > unthreaded ? (await storage.pushActions.countByThread(userId, roomId, own, to, threadId)).get(threadId) : c;
    if (!n || n.notifications + n.highlights === 0) continue;
    if (!perThread || threadId === null) {
      room.notification_count += n.notifications;
      room.highlight_count += n.highlights;
    } else if (n.notifications > 0) {
      threads[threadId] = { notification_count: n.notifications, highlight_count: n.highlights };
    }
  }
  return { room, threads };
}
