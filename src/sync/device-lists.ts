/**
 * `device_lists` of /sync and of sliding sync's e2ee extension: the users whose devices or keys changed in
 * (from, to] that the syncing user tracks (itself and the users sharing one of `joined` with it). /sync and sliding
 * sync's e2ee extension both add the membership side (deviceListMembership, below: newly shared users and `left`).
 */
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { Storage } from "../storage/ports.js";
import type { SyncStorage } from "./rooms-provider.js";

export interface DeviceListUpdates {
  readonly changed: string[];
  readonly left: string[];
}

/**
 * `audience` gives the users sharing a joined room with the user (and the user); it is only asked when something
 * changed, so a caller that needs it anyway (presence) can share one computation.
 */
export async function deviceListUpdates(storage: SyncStorage, from: number, to: number, audience: () => Promise<ReadonlySet<UserId>>): Promise<DeviceListUpdates> {
  if (to <= from) return { changed: [], left: [] };
  const changes = await storage.e2ee.deviceListChangesSince(from, to);
  if (changes.length === 0) return { changed: [], left: [] };
  const a = await audience();
  return { changed: changes.map((c) => c.userId).filter((u) => a.has(u)), left: [] };
}

/** The users sharing one of `joined` with `userId`, and `userId` itself. */
export async function sharingUsers(storage: SyncStorage, userId: UserId, joined: readonly RoomId[]): Promise<Set<UserId>> {
  const out = new Set<UserId>([userId]);
  for (const r of joined) for (const u of await storage.roomClient.getRoomMembers(r, "join")) out.add(u);
  return out;
}

/**
 * The membership side of /sync's device_lists (https://spec.matrix.org/v1.16/client-server-api/#extensions-to-sync):
 * between two event-stream positions, which users newly share a joined room with the syncing user (their device
 * lists must be fetched: they go into `changed`) and which no longer share any (`left`).
 *
 * 1. Member changes of the current-state stream in (since, to] are read for the rooms the user is joined to now
 *    and the rooms whose own membership changed (at most MEMBER_CHANGES_LIMIT changes), with the member event each
 *    replaced, so a display-name change (join to join) is no change of sharing. A short range is read whole and
 *    filtered (a user in 1,000 rooms would otherwise cost 1,000 index probes per incremental sync).
 * 2. The user's own change from not joined to joined: every joined member of that room newly shares it; from joined
 *    to not joined: every joined member of that room may have left.
 * 3. Another member's change in a room the user is joined to now: to joined, that member newly shares it; from
 *    joined, that member may have left.
 * 4. `left` keeps only those who share no joined room with the user now (`sharing`, asked for only when step 2 or
 *    3 found someone: in thousands of rooms it costs a read per room); `newlyShared` only those who do. The user
 *    itself is in neither.
 */
export const MEMBER_CHANGES_LIMIT = 1000;

export async function deviceListMembership(
  storage: Pick<Storage, "rooms" | "roomClient" | "events">,
  userId: UserId,
  since: number,
  to: number,
  joinedNow: readonly RoomId[],
  sharing: ReadonlySet<UserId> | (() => Promise<ReadonlySet<UserId>>),
): Promise<{ newlyShared: UserId[]; left: UserId[] }> {
  if (to <= since) return { newlyShared: [], left: [] };
  const range = { from: since, to, limit: MEMBER_CHANGES_LIMIT };
  const own = await storage.rooms.getMembershipChanges(userId, range);
  const rooms = [...new Set([...joinedNow, ...own.map((c) => c.roomId)])];
  if (rooms.length === 0) return { newlyShared: [], left: [] };
  // The whole stream's changes in the range first (one range read, usually a handful of rows), filtered here; the
  // per-room read (an index probe per room) only when the range holds more than the limit.
  const wanted = new Set(rooms);
  const all = await storage.rooms.getCurrentStateChanges(range);
  const inRooms = all.length < MEMBER_CHANGES_LIMIT ? all.filter((c) => wanted.has(c.roomId)) : await storage.rooms.getCurrentStateChanges(range, rooms);
  const changes = inRooms.filter((c) => c.type === "m.room.member"); // step 1
  if (changes.length === 0) return { newlyShared: [], left: [] };
  const ids = new Set<EventId>();
  for (const c of changes) {
    if (c.eventId) ids.add(c.eventId);
    if (c.prevEventId) ids.add(c.prevEventId);
  }
  const pdus = await storage.events.getPdus([...ids]);
  const membershipOf = (id: EventId | null): string | null => {
    const m = id ? (pdus.get(id)?.content as { membership?: unknown } | undefined)?.membership : undefined;
    return typeof m === "string" ? m : null;
  };
  const joined = new Set(joinedNow);
  const newly = new Set<UserId>();
  const maybeLeft = new Set<UserId>();
  // Only the first and last state of each (room, member) in the range matter.
  const first = new Map<string, string | null>();
  const last = new Map<string, { roomId: RoomId; member: UserId; now: string | null }>();
  for (const c of changes) {
    const k = `${c.roomId}\u0000${c.stateKey}`;
    if (!first.has(k)) first.set(k, membershipOf(c.prevEventId));
    last.set(k, { roomId: c.roomId, member: c.stateKey as UserId, now: membershipOf(c.eventId) });
  }
  for (const [k, { roomId, member, now }] of last) {
    const before = first.get(k) ?? null;
    const wasJoined = before === "join";
    const isJoined = now === "join";
    if (wasJoined === isJoined) continue;
    if (member === userId) { // step 2
      const into = isJoined ? newly : maybeLeft;
      for (const u of await storage.roomClient.getRoomMembers(roomId, "join")) into.add(u);
    } else if (joined.has(roomId)) { // step 3
      (isJoined ? newly : maybeLeft).add(member);
    }
  }
  newly.delete(userId);
  maybeLeft.delete(userId);
  if (newly.size === 0 && maybeLeft.size === 0) return { newlyShared: [], left: [] };
  const now = typeof sharing === "function" ? await sharing() : sharing;
  return { newlyShared: [...newly].filter((u) => now.has(u)).sort(), left: [...maybeLeft].filter((u) => !now.has(u)).sort() }; // step 4
}
