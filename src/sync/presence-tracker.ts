/**
 * Local users' presence over time (docs/sync.md, "Presence"; the rules are presence.ts's): what syncing clients'
 * `set_presence` and PUT /presence do, who is syncing, and the offline timer.
 *
 * - Each user's updates run one after another, so two syncs of one user do not both take the same stored
 *   presence for the one before.
 * - A significant change is stored with a new presence stream position and wakes the syncs of the user and of
 *   everyone sharing a joined room (and goes to federation: the store given is src/sync/edus' wrapper); a
 *   last-activity bump is stored without a position (PresenceStore.touch) and wakes no one.
 * - Syncs under way are counted per user; when the last one ends, the user goes offline SYNC_ONLINE_TIMEOUT_MS
 *   later unless another sync starts or activity comes first. A sync with `set_presence=offline` is not counted
 *   (as Synapse: it does not affect presence at all). After PUT /presence (not offline) with no sync under way
 *   the same timer runs. The timers are in memory: after a restart, presence stored as online or unavailable
 *   stays so until the user syncs, or sets it, again.
 */
import type { Clock } from "../core/clock.js";
import type { UserId } from "../core/ids/index.js";
import type { PresenceRecord, PresenceStore, RoomStore } from "../storage/ports.js";
import type { Notifier, NotifierTimers } from "./notifier.js";
import { explicitPresence, presenceChange, presenceValue, syncedPresence, SYNC_ONLINE_TIMEOUT_MS, type PresenceState, type PresenceValue } from "./presence.js";

export interface PresenceTrackerDeps {
  readonly presence: PresenceStore;
  readonly rooms: Pick<RoomStore, "getRoomsForUser">;
  readonly notifier: Pick<Notifier, "notifyPresence">;
  readonly clock: Clock;
  readonly timers: NotifierTimers;
  /** presence.enabled: false records nothing. */
  readonly enabled: boolean;
}

/** Ends a sync started with PresenceTracker.syncing. */
export type SyncEnd = () => void;

const NOTHING: SyncEnd = () => {};

export class PresenceTracker {
  private readonly syncs = new Map<UserId, number>();
  private readonly lastSyncEnd = new Map<UserId, number>();
  private readonly offlineTimers = new Map<UserId, unknown>();
  private readonly queues = new Map<UserId, Promise<unknown>>();
  private closed = false;

  constructor(private readonly deps: PresenceTrackerDeps) {}

  /**
   * A sync (/sync or sliding sync) of `userId` begins with this `set_presence`: records it, and counts the sync
   * as under way until the returned function is called (offline: neither).
   */
  async syncing(userId: UserId, setPresence: PresenceState): Promise<SyncEnd> {
    if (setPresence === "offline" || !this.deps.enabled || this.closed) return NOTHING;
    this.syncs.set(userId, (this.syncs.get(userId) ?? 0) + 1);
    this.clearTimer(userId);
    let ended = false;
    const end: SyncEnd = () => {
      if (ended) return;
      ended = true;
      const left = (this.syncs.get(userId) ?? 1) - 1;
      if (left > 0) return void this.syncs.set(userId, left);
      this.syncs.delete(userId);
      this.lastSyncEnd.set(userId, this.deps.clock.now());
      this.schedule(userId, SYNC_ONLINE_TIMEOUT_MS);
    };
    try {
      await this.update(userId, (prev) => syncedPresence(prev, setPresence, this.deps.clock.now()));
    } catch (e) {
      end();
      throw e;
    }
    return end;
  }

  /** PUT /presence: the state and (undefined: keep the stored) status message the user set. */
  async set(userId: UserId, state: PresenceState, statusMsg: string | null | undefined): Promise<void> {
    if (!this.deps.enabled || this.closed) return;
    await this.update(userId, (prev) => explicitPresence(prev, state, statusMsg, this.deps.clock.now()));
    if (state !== "offline" && !this.syncs.has(userId)) this.schedule(userId, SYNC_ONLINE_TIMEOUT_MS);
  }

  /** Whether a sync of the user is under way (for tests and the docs' claims). */
  isSyncing(userId: UserId): boolean {
    return this.syncs.has(userId);
  }

  /** Stops the timers (server stop). */
  close(): void {
    this.closed = true;
    for (const t of this.offlineTimers.values()) this.deps.timers.clearTimeout(t);
    this.offlineTimers.clear();
  }

  /** Runs `f` after the user's earlier updates. */
  private serial<T>(userId: UserId, f: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(userId) ?? Promise.resolve()).then(f, f);
    const tail = run.catch(() => {});
    this.queues.set(userId, tail);
    void tail.then(() => {
      if (this.queues.get(userId) === tail) this.queues.delete(userId);
    });
    return run;
  }

  private update(userId: UserId, next: (prev: PresenceRecord | null) => PresenceValue): Promise<void> {
    return this.serial(userId, async () => {
      const { presence, rooms, notifier } = this.deps;
      const prev = await presence.get(userId);
      const value = next(prev);
      const change = presenceChange(prev, value);
      if (change === "same") return;
      if (change === "kept") return presence.touch(userId, value.lastActiveTs);
      const pos = await presence.put(userId, value.state, value.statusMsg, value.lastActiveTs);
      notifier.notifyPresence(userId, await rooms.getRoomsForUser(userId, "join"), pos);
    });
  }

  private clearTimer(userId: UserId): void {
    const t = this.offlineTimers.get(userId);
    if (t !== undefined) this.deps.timers.clearTimeout(t);
    this.offlineTimers.delete(userId);
  }

  private schedule(userId: UserId, ms: number): void {
    if (this.closed) return;
    this.clearTimer(userId);
    this.offlineTimers.set(userId, this.deps.timers.setTimeout(() => {
      this.offlineTimers.delete(userId);
      void this.timedOut(userId).catch(() => {});
    }, ms));
  }

  /** The offline timer ran out: offline, unless a sync started or activity (a PUT) came since. */
  private async timedOut(userId: UserId): Promise<void> {
    if (this.closed || this.syncs.has(userId)) return;
    let again = 0;
    await this.update(userId, (prev) => {
      const kept = presenceValue(prev);
      if (!prev || kept.state === "offline" || this.syncs.has(userId)) return kept;
      const quietSince = Math.max(this.lastSyncEnd.get(userId) ?? 0, prev.lastActiveTs);
      const left = quietSince + SYNC_ONLINE_TIMEOUT_MS - this.deps.clock.now();
      if (left > 0) {
        again = left;
        return kept;
      }
      return { ...kept, state: "offline" };
    });
    if (again > 0) this.schedule(userId, again);
    else if (!this.syncs.has(userId)) this.lastSyncEnd.delete(userId);
  }
}
