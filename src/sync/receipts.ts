/** The m.receipt content of rooms between two receipts-stream positions, shared by /sync and sliding sync. */
import type { RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { SyncStorage } from "./rooms-provider.js";

/**
 * m.receipt content per room for receipts changed in (since, to]: {event id: {type: {user id: {ts, thread_id}}}}.
 * A private receipt (m.read.private) only reaches its owner.
 */
export async function receiptEvents(storage: SyncStorage, userId: UserId, rooms: readonly RoomId[], since: number, to: number): Promise<Map<RoomId, JsonObject>> {
  const out = new Map<RoomId, Record<string, Record<string, Record<string, JsonObject>>>>();
  if (rooms.length === 0 || to <= since) return out as Map<RoomId, JsonObject>;
  for (const r of await storage.receipts.changesSince(rooms, since, to)) {
    if (r.receiptType === "m.read.private" && r.userId !== userId) continue;
    let room = out.get(r.roomId);
    if (!room) out.set(r.roomId, (room = {}));
    const byType = (room[r.eventId] ??= {});
    const byUser = (byType[r.receiptType] ??= {});
    byUser[r.userId] = { ts: r.ts, ...(r.threadId !== null ? { thread_id: r.threadId } : {}) };
  }
  return out as Map<RoomId, JsonObject>;
}
