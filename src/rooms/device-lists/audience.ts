/**
 * Who a user's device list concerns: the members of the rooms the user has joined (joined members only, as the
 * spec's "users who share a room"), split into local users (whose syncs to wake) and other servers (where the
 * EDUs go).
 */
import { serverOfUserId, type ServerName, type UserId } from "../../core/ids/index.js";
import type { DeviceListStorage } from "./ports.js";

export class RoomAudience {
  constructor(private readonly storage: Pick<DeviceListStorage, "rooms" | "roomClient">, private readonly serverName: ServerName) {}

  /** Joined members of the user's joined rooms, the user included. */
  async sharing(userId: UserId): Promise<Set<UserId>> {
    const out = new Set<UserId>([userId]);
    for (const r of await this.storage.rooms.getRoomsForUser(userId, "join")) for (const u of await this.storage.roomClient.getRoomMembers(r, "join")) out.add(u);
    return out;
  }

  /** Local users sharing a room with the user (the user too, when local). */
  async localUsers(userId: UserId): Promise<UserId[]> {
    return [...(await this.sharing(userId))].filter((u) => serverOfUserId(u) === this.serverName);
  }

  /** Other servers with a joined member in a room the user has joined. */
  async remoteServers(userId: UserId): Promise<ServerName[]> {
    const out = new Set<ServerName>();
    for (const u of await this.sharing(userId)) {
      const s = serverOfUserId(u);
      if (s !== this.serverName) out.add(s);
    }
    return [...out].sort();
  }

  /** Whether a local user has joined a room the (remote) user has joined. */
  async sharesRoomWithLocalUser(userId: UserId): Promise<boolean> {
    for (const r of await this.storage.rooms.getRoomsForUser(userId, "join")) {
      for (const u of await this.storage.roomClient.getRoomMembers(r, "join")) if (serverOfUserId(u) === this.serverName) return true;
    }
    return false;
  }
}
