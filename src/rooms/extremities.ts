/**
 * Forward extremities stay bounded. A room whose extremities pile up (a partition, a slow server, many servers
 * sending at once) makes every later event resolve state over all the forks, the slow-room complaint operators of
 * other servers know well. Two things keep the count down:
 *
 * 1. every local event cites every extremity, up to the 20 prev_events a PDU may carry (local-event.ts), so the next
 *    message merges a partition's forks;
 * 2. when remote events leave a room with more than `threshold` extremities (Synapse's `dummy_events_threshold`,
 *    default 10) and no local event has brought it back under within `delayMs`, a local member sends an
 *    `org.matrix.dummy_event` (no content) citing the oldest 20, repeated until at most `threshold` remain. Synapse
 *    does the same from a five-minute loop; here the check is armed by the remote event that crossed the threshold.
 *
 * Dummy events are never shown to clients (room-reads.ts), as in Synapse.
 */
import type { EventId, RoomId } from "../core/ids/index.js";

export const DUMMY_EVENT_TYPE = "org.matrix.dummy_event";
/** Synapse's default `dummy_events_threshold`. */
export const DEFAULT_EXTREMITY_THRESHOLD = 10;
/** How long a local event gets to merge the extremities before a dummy event does. */
export const DEFAULT_DUMMY_EVENT_DELAY_MS = 30_000;
/** Dummy events sent for one room per check at most (each merges up to 20, so this covers 1,000 extremities). */
const MAX_DUMMIES_PER_CHECK = 50;

/** Timers (setTimeout-shaped, injected: STYLE C9). */
export interface MergeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ExtremityPolicy {
  readonly threshold: number;
  readonly delayMs: number;
  readonly timers: MergeTimers;
}

/** What the merger needs of the room service. */
export interface ExtremityRooms {
  extremityCount(roomId: RoomId): Promise<number>;
  /** Sends one dummy event citing the oldest extremities; null when no local member may send one. */
  sendDummyEvent(roomId: RoomId): Promise<EventId | null>;
}

export class ExtremityMerger {
  private readonly armed = new Map<RoomId, unknown>();
  private closed = false;

  constructor(private readonly policy: ExtremityPolicy, private readonly rooms: ExtremityRooms, private readonly onError: (roomId: RoomId, e: unknown) => void = () => {}) {}

  /** After remote events were persisted in `roomId` with `count` extremities now: arm the check when over the threshold. */
  note(roomId: RoomId, count: number): void {
    if (this.closed || count <= this.policy.threshold || this.armed.has(roomId)) return;
    this.armed.set(roomId, this.policy.timers.setTimeout(() => void this.check(roomId), this.policy.delayMs));
  }

  /** Sends dummy events until at most `threshold` extremities remain (or nobody local may send). */
  async check(roomId: RoomId): Promise<number> {
    this.armed.delete(roomId);
    let sent = 0;
    try {
      while (!this.closed && sent < MAX_DUMMIES_PER_CHECK && (await this.rooms.extremityCount(roomId)) > this.policy.threshold) {
        if ((await this.rooms.sendDummyEvent(roomId)) === null) break;
        sent++;
      }
    } catch (e) {
      this.onError(roomId, e);
    }
    return sent;
  }

  close(): void {
    this.closed = true;
    for (const h of this.armed.values()) this.policy.timers.clearTimeout(h);
    this.armed.clear();
  }
}
