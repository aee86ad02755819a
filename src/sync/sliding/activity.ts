/**
 * Each user's room activity (the stream ordering of the room's newest visible event), kept in memory between
 * requests: a request reads only the rooms whose events moved since the cached position (one range read of the
 * event stream) instead of probing every room of the user. A room not cached yet is probed once. Reading up to the
 * storage's committed position, no event lands below it later, so the cache never misses a move. After a gap of
 * more than MAX_GAP positions the user's rooms are probed again instead. At most MAX_USERS
 * users are kept (the least recently used goes first); a restart starts empty.
 */
import type { RoomId, UserId } from "../../core/ids/index.js";
import type { StreamOrdering } from "../../storage/ports.js";
import type { SlidingStorage } from "./storage.js";

interface Entry {
  upTo: StreamOrdering;
  readonly activity: Map<RoomId, StreamOrdering>;
}

export class ActivityCache {
  static readonly MAX_USERS = 10_000;
  /** Past this many stream positions since the cached one, probing the user's rooms is cheaper than the range read. */
  static readonly MAX_GAP = 50_000;
  private readonly users = new Map<UserId, Entry>();

  constructor(private readonly storage: SlidingStorage) {}

  /** The activity of each of `rooms` at `to` (0 for a room without a visible event). */
  async of(userId: UserId, rooms: readonly RoomId[], to: StreamOrdering): Promise<ReadonlyMap<RoomId, StreamOrdering>> {
    let e = this.users.get(userId);
    if (e) this.users.delete(userId);
    if (e && (e.upTo > to || to - e.upTo > ActivityCache.MAX_GAP)) e = undefined; // the past, or a long gap: start over
    if (!e) e = { upTo: to, activity: new Map() };
    else if (e.upTo < to) {
      for (const [r, pos] of await this.storage.slidingSync.latestEventPositionsBetween(e.upTo, to)) if (e.activity.has(r)) e.activity.set(r, pos);
      e.upTo = to;
    }
    const missing = rooms.filter((r) => !e!.activity.has(r));
    if (missing.length > 0) {
      const probed = await this.storage.slidingSync.latestEventPositions(missing, to, null);
      for (const r of missing) e.activity.set(r, probed.get(r) ?? 0);
    }
    if (this.users.size >= ActivityCache.MAX_USERS) this.users.delete(this.users.keys().next().value as UserId);
    this.users.set(userId, e);
    return e.activity;
  }
}
