/**
 * Walks back through the event stream of some rooms for the index-less searches (/search, /notifications): windows of
 * SCAN_WINDOW positions, at most SCAN_WINDOWS a request, newest first, keeping the events `keep` accepts (it is
 * given one room's events of one window at a time) until `limit` are kept. Returns them and the position to resume
 * below (`to`, 0 when the stream is exhausted), so a page may hold fewer than `limit` while older events remain.
 * Backfilled events (negative positions) are not reached.
 */
import type { Pdu } from "../../../core/events/index.js";
import type { RoomId } from "../../../core/ids/index.js";
import type { EventStore, StoredEvent } from "../../../storage/ports.js";

export const SCAN_WINDOW = 500;
export const SCAN_WINDOWS = 10;

export interface ScanHit<T> {
  readonly pdu: Pdu;
  readonly stream: number;
  readonly extra: T;
}

export async function scanBack<T>(
  events: Pick<EventStore, "getRoomsRecentEvents">,
  rooms: readonly RoomId[],
  from: number,
  limit: number,
  keep: (roomId: RoomId, stored: readonly StoredEvent[]) => Promise<readonly { stored: StoredEvent; extra: T }[]>,
): Promise<{ hits: ScanHit<T>[]; to: number }> {
  const hits: ScanHit<T>[] = [];
  let to = from;
  for (let windows = 0; rooms.length > 0 && limit > 0 && to > 0 && windows < SCAN_WINDOWS && hits.length < limit; windows++) {
    const bottom = Math.max(0, to - SCAN_WINDOW);
    const byRoom = await events.getRoomsRecentEvents(rooms, { from: bottom, to, limit: SCAN_WINDOW });
    const found: ScanHit<T>[] = [];
    for (const [roomId, stored] of byRoom) for (const k of await keep(roomId, stored)) found.push({ pdu: k.stored.pdu, stream: k.stored.streamOrdering, extra: k.extra });
    found.sort((a, b) => b.stream - a.stream);
    const room = limit - hits.length;
    if (found.length > room) {
      hits.push(...found.slice(0, room));
      return { hits, to: hits[hits.length - 1]!.stream - 1 }; // the rest of this window is scanned again next page
    }
    hits.push(...found);
    to = bottom;
  }
  return { hits, to: rooms.length > 0 && limit > 0 ? to : 0 };
}
