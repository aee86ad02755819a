/** Who may read whose presence (https://spec.matrix.org/v1.16/client-server-api/#presence). */
import type { UserId } from "../../../core/ids/index.js";
import type { RoomStore } from "../../../storage/ports.js";

/** Oneself, or a user sharing a joined room (as Synapse decides who may see presence). */
export async function maySeePresence(stores: { roomStore: RoomStore }, viewer: UserId, target: UserId): Promise<boolean> {
  if (viewer === target) return true;
  const [mine, theirs] = await Promise.all([stores.roomStore.getRoomsForUser(viewer, "join"), stores.roomStore.getRoomsForUser(target, "join")]);
  const set = new Set(mine);
  return theirs.some((r) => set.has(r));
}
