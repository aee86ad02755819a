/**
 * Local users' presence over time (docs/sync.md, "Presence"; the rules are presence.ts's): what syncing clients'
 * `set_presence` and PUT /presence do, per device, who is syncing, and the offline timer.
 *
 * - Each user's updates run one after another, so two syncs of one user do not both take the same stored
 *   presence for the one before.
 * - A significant change is stored with a new presence stream position and wakes the syncs of the user and of
 *   everyone sharing a joined room (and goes to federation: the store given is src/sync/edus' wrapper); a
 *   last-activity bump is stored without a position (PresenceStore.touch) and wakes no one.
 * - Devices' states and syncs under way are kept in memory. When a device has no sync under way, it stops counting
 *   SYNC_ONLINE_TIMEOUT_MS after its last sync ended (or its PUT); the user's state is then taken again from the
 *   devices left (none: offline). A sync with `set_presence=offline` neither counts nor changes anything (as
 *   Synapse). After a restart nothing is in memory: `resume()` gives every local user stored as online or
 *   unavailable SYNC_ONLINE_TIMEOUT_MS to sync again (clients reconnect after a restart), then offline.
 */
import type { Clock } from "../core/clock.js";
import type { UserId } from "../core/ids/index.js";
import type { PresenceRecord, PresenceStore, RoomStore } from "../storage/ports.js";
import type { Notifier, NotifierTimers } from "./notifier.js";
import { combinedState, deviceGone, nextPresence, presenceChange, presenceValue, SYNC_ONLINE_TIMEOUT_MS, type DevicePresence, type PresenceState, type PresenceValue } from "./presence.js";

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

interface Device extends DevicePresence {
  /** Syncs of this device under way. */
  readonly syncs: number;
}

export class PresenceTracker {
  private readonly devices = new Map<UserId, Map<string, Device>>();
  private readonly offlineTimers = new Map<UserId, unknown>();
  private readonly queues = new Map<UserId, Promise<unknown>>();
  private closed = false;

  constructor(private readonly deps: PresenceTrackerDeps) {}

  /**
   * A sync (/sync or sliding sync) of this user and device begins with this `set_presence`: records it, and
   * counts the sync as under way until the returned function is called (offline: neither).
   */
  async syncing(userId: UserId, deviceId: string, setPresence: PresenceState): Promise<SyncEnd> {
    if (setPresence === "offline" || !this.deps.enabled || this.closed) return NOTHING;
    this.clearTimer(userId);
    const now = this.deps.clock.now();
    const mine = this.devicesOf(userId);
    mine.set(deviceId, { state: setPresence, lastSeenTs: now, syncs: (mine.get(deviceId)?.syncs ?? 0) + 1 });
    let ended = false;
    const end: SyncEnd = () => {
      if (ended) return;
      ended = true;
      const d = this.devices.get(userId)?.get(deviceId);
      if (d) this.devicesOf(userId).set(deviceId, { ...d, syncs: Math.max(0, d.syncs - 1), lastSeenTs: this.deps.clock.now() });
      this.scheduleCheck(userId);
    };
    try {
      await this.update(userId, undefined);
    } catch (e) {
      end();
      throw e;
    }
    return end;
  }

  /** Runs a sync's body `f` as a sync of this user and device under way (syncing() before, its end after). */
  async whileSyncing<T>(userId: UserId, deviceId: string, setPresence: PresenceState, f: () => Promise<T>): Promise<T> {
    const end = await this.syncing(userId, deviceId, setPresence);
    try {
      return await f();
    } finally {
      end();
    }
  }

  /** PUT /presence from this device: the state and (undefined: keep the stored) status message the user set. */
  async set(userId: UserId, deviceId: string, state: PresenceState, statusMsg: string | null | undefined): Promise<void> {
    if (!this.deps.enabled || this.closed) return;
    const mine = this.devicesOf(userId);
    mine.set(deviceId, { state, lastSeenTs: this.deps.clock.now(), syncs: mine.get(deviceId)?.syncs ?? 0 });
    await this.update(userId, statusMsg);
    this.scheduleCheck(userId);
  }

  /** Whether a sync of the user is under way. */
  isSyncing(userId: UserId): boolean {
    return [...(this.devices.get(userId)?.values() ?? [])].some((d) => d.syncs > 0);
  }

  /**
   * Start-up: each local user whose stored presence is not offline has no device in memory; unless one of theirs
   * syncs or sets presence within SYNC_ONLINE_TIMEOUT_MS, they go offline (told as any change), as if their devices
   * had gone quiet at the restart. Without this, a user who never came back would stay online for ever.
   */
  async resume(serverName: string): Promise<number> {
    if (!this.deps.enabled || this.closed) return 0;
    const users = await this.deps.presence.usersNotOffline(serverName);
    for (const userId of users) {
      if (this.devices.has(userId) || this.offlineTimers.has(userId)) continue;
      this.offlineTimers.set(userId, this.deps.timers.setTimeout(() => {
        this.offlineTimers.delete(userId);
        void this.check(userId).catch(() => {});
      }, SYNC_ONLINE_TIMEOUT_MS));
    }
    return users.length;
  }

  /** Stops the timers (server stop). */
  close(): void {
    this.closed = true;
    for (const t of this.offlineTimers.values()) this.deps.timers.clearTimeout(t);
    this.offlineTimers.clear();
  }

  private devicesOf(userId: UserId): Map<string, Device> {
    let m = this.devices.get(userId);
    if (!m) this.devices.set(userId, (m = new Map()));
    return m;
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

  /** Stores the user's presence from their devices now (`statusMsg`: PUT's; undefined keeps the stored one). */
  private update(userId: UserId, statusMsg: string | null | undefined): Promise<void> {
    return this.serial(userId, async () => {
      const prev = await this.deps.presence.get(userId);
      const value: PresenceValue = nextPresence(prev, combinedState(this.devices.get(userId)?.values() ?? []), statusMsg, this.deps.clock.now());
      await this.store(userId, prev, value);
    });
  }

  private async store(userId: UserId, prev: PresenceRecord | null, value: PresenceValue): Promise<void> {
    const { presence, rooms, notifier } = this.deps;
    const change = presenceChange(prev, value);
    if (change === "same") return;
    if (change === "kept") return presence.touch(userId, value.lastActiveTs);
    const pos = await presence.put(userId, value.state, value.statusMsg, value.lastActiveTs);
    notifier.notifyPresence(userId, await rooms.getRoomsForUser(userId, "join"), pos);
  }

  private clearTimer(userId: UserId): void {
    const t = this.offlineTimers.get(userId);
    if (t !== undefined) this.deps.timers.clearTimeout(t);
    this.offlineTimers.delete(userId);
  }

  /** Drops the devices gone quiet, and sets the timer for the next one that will (none while one syncs). */
  private scheduleCheck(userId: UserId): void {
    this.clearTimer(userId);
    const mine = this.devices.get(userId);
    if (this.closed || !mine) return;
    const quiet = [...mine.values()].filter((d) => d.syncs === 0);
    if (quiet.length === 0) return;
    const first = Math.min(...quiet.map((d) => d.lastSeenTs)) + SYNC_ONLINE_TIMEOUT_MS;
    this.offlineTimers.set(userId, this.deps.timers.setTimeout(() => {
      this.offlineTimers.delete(userId);
      void this.check(userId).catch(() => {});
    }, Math.max(0, first - this.deps.clock.now())));
  }

  /** The timer ran out: the devices quiet for SYNC_ONLINE_TIMEOUT_MS no longer count. */
  private async check(userId: UserId): Promise<void> {
    if (this.closed) return;
    await this.serial(userId, async () => {
      // No devices in memory: a user resumed at start-up whom no device has synced for since (offline).
      const mine = this.devices.get(userId) ?? new Map<string, Device>();
      const now = this.deps.clock.now();
      for (const [id, d] of mine) if (d.syncs === 0 && deviceGone(d, now)) mine.delete(id);
      if (mine.size === 0) this.devices.delete(userId);
      const prev = await this.deps.presence.get(userId);
      if (!prev) return;
      await this.store(userId, prev, { ...presenceValue(prev), state: combinedState(mine.values()) });
    });
    this.scheduleCheck(userId);
  }
}
