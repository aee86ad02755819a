/**
 * `device_lists` of /sync and of sliding sync's e2ee extension: the users whose devices or keys changed in
 * (from, to] that the syncing user tracks (itself and the users sharing one of `joined` with it). `left` stays
 * empty for now (docs/sync.md, "Not yet").
 */
import type { RoomId, UserId } from "../core/ids/index.js";
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
