/**
 * Which member events /sync has sent each device while lazy-loading members
 * (https://spec.matrix.org/v1.16/client-server-api/#lazy-loading-room-members): "the server MAY assume that
 * clients will remember membership events they have already been sent, and choose to skip sending membership
 * events for members whose membership has not changed", unless the filter sets `include_redundant_members`.
 *
 * Per (user, device), in memory: room and member → the member event sent and the event-stream position of the
 * response that carried it (its `next_batch`). As Synapse's lazy-loaded members cache, this is a cache: losing an
 * entry (evicted, a restart, another process) only sends the member again, which the spec allows ("it is valid for
 * the server to send redundant membership events").
 *
 * What is remembered only counts once the client has shown it received it: an entry counts for a sync whose
 * `since` is at or past the entry's position. A sync from an earlier `since` (a response lost or abandoned, the
 * client retrying) drops the entries after it, so a retry that does not need the member again cannot leave an
 * entry behind that the client never saw. An initial sync starts the device afresh (a new sync sequence: the
 * client may have forgotten everything). Two syncs of one device at once may still race (an entry recorded by one
 * while the other, from an earlier `since`, had already dropped the newer ones); clients sync one at a time.
 *
 * Bounded: at most `perDevice` entries per device (least recently used dropped first) and `total` over all
 * devices (the least recently syncing device dropped whole).
 */
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { StreamOrdering } from "../storage/ports.js";

export interface LazyMembersLimits {
  readonly perDevice: number;
  readonly total: number;
}

interface Sent {
  readonly eventId: EventId;
  readonly at: StreamOrdering;
}

class DeviceEntries {
  readonly entries = new Map<string, Sent>();
  /** The newest position of any entry (drops nothing when a sync's `since` is at or past it). */
  newest = 0;
}

/** One device's entries as seen by one sync from `since`. */
export interface DeviceMembersSent {
  /** Whether the device was sent `eventId` as `member`'s member event in the room, in a response it acknowledged. */
  has(roomId: RoomId, member: string, eventId: EventId): boolean;
  /** `eventId` goes to the device in the response whose position is `at`. */
  record(roomId: RoomId, member: string, eventId: EventId, at: StreamOrdering): void;
}

const keyOf = (roomId: RoomId, member: string): string => `${roomId}\u0000${member}`;

export class LazyMembersSent {
  static readonly DEFAULT_LIMITS: LazyMembersLimits = { perDevice: 1_000, total: 100_000 };
  private readonly devices = new Map<string, DeviceEntries>();
  private total = 0;

  constructor(private readonly limits: LazyMembersLimits = LazyMembersSent.DEFAULT_LIMITS) {}

  /**
   * The device's entries for a sync from `since` (null: an initial sync, which starts afresh). Entries from
   * responses after `since` are dropped: the client syncs from before them, so it may not have received them.
   */
  forSync(userId: UserId, deviceId: string, since: StreamOrdering | null): DeviceMembersSent {
    const key = `${userId}\u0000${deviceId}`;
    let device = this.devices.get(key);
    if (device && since === null) {
      this.dropDevice(key, device);
      device = undefined;
    }
    if (device) {
      // Most recently syncing last, so the device dropped first when over `total` is the one idle longest.
      this.devices.delete(key);
      this.devices.set(key, device);
      if (since !== null && device.newest > since) {
        for (const [k, s] of device.entries) {
          if (s.at > since) {
            device.entries.delete(k);
            this.total--;
          }
        }
        device.newest = since;
      }
    }
    const acknowledged = since ?? -1;
    return {
      has: (roomId, member, eventId) => {
        const d = this.devices.get(key);
        const k = keyOf(roomId, member);
        const s = d?.entries.get(k);
        if (!d || !s || s.eventId !== eventId || s.at > acknowledged) return false;
        d.entries.delete(k);
        d.entries.set(k, s);
        return true;
      },
      record: (roomId, member, eventId, at) => {
        let d = this.devices.get(key);
        if (!d) this.devices.set(key, (d = new DeviceEntries()));
        const k = keyOf(roomId, member);
        if (d.entries.delete(k)) this.total--;
        d.entries.set(k, { eventId, at });
        this.total++;
        if (at > d.newest) d.newest = at;
        if (d.entries.size > this.limits.perDevice) {
          const oldest = d.entries.keys().next().value as string;
          d.entries.delete(oldest);
          this.total--;
        }
        for (const [other, entries] of this.devices) {
          if (this.total <= this.limits.total) break;
          if (other !== key) this.dropDevice(other, entries);
        }
      },
    };
  }

  /** How many entries are kept, over how many devices (tests). */
  size(): { readonly devices: number; readonly entries: number } {
    return { devices: this.devices.size, entries: this.total };
  }

  private dropDevice(key: string, device: DeviceEntries): void {
    this.devices.delete(key);
    this.total -= device.entries.size;
  }
}
