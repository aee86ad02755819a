/**
 * `zion admin` (cli/admin.ts) works on the database directly, through the same admin service as the HTTP admin API
 * (api/client/admin/service.ts), so a closed server can be managed without a client. This builds that service's
 * dependencies from homeserver.yaml alone: the configured storage (migrated like at start-up), the password hasher,
 * and the room pipeline signing with the server's key (a deactivated user leaves its rooms with signed events).
 */
// The admin modules themselves, not the API's index: `zion admin` then loads no HTTP routes.
import type { AdminDeps } from "../api/client/admin/service.js";
import * as adminService from "../api/client/admin/service.js";
import * as destinationAdmin from "../api/client/admin/destination-admin.js";
import type { DestinationAdminDeps } from "../api/client/admin/destination-admin.js";
import * as mediaAdmin from "../api/client/admin/media-admin.js";
import type { MediaAdminDeps } from "../api/client/admin/media-admin.js";
import * as roomAdmin from "../api/client/admin/room-admin.js";
import { scryptHasher } from "../api/client/shared/password.js";
import { createMediaRepository } from "./media.js";

export { adminService, destinationAdmin, mediaAdmin, roomAdmin };
import type { HomeserverConfig } from "../config/index.js";
import type { ServerName } from "../core/ids/index.js";
import { whitelistPolicy } from "../api/http/federation-auth.js";
import { RoomDestinations } from "../federation/sender/index.js";
import { RoomService } from "../rooms/index.js";
import { systemClock } from "./clock.js";
import { readSigningKeys } from "./signing-key.js";
import { openConfiguredStorage } from "./storage.js";

export interface AdminSession {
  readonly deps: AdminDeps & MediaAdminDeps & DestinationAdminDeps;
  close(): Promise<void>;
}

export async function openAdminSession(config: HomeserverConfig): Promise<AdminSession> {
  const storage = await openConfiguredStorage(config.database);
  const key = readSigningKeys(config.signing_key_path)[0];
  if (!key) {
    await storage.close();
    throw new Error(`${config.signing_key_path} holds no signing key`);
  }
  const clock = systemClock;
  // Events made here (leaves of a deactivated user, of a deleted room's members) are queued for the rooms' other
  // servers in their own transaction, as the running server queues its events, and sent by the server when it
  // starts (or, when it runs, with its next transaction to that server): a closed server loses none of them.
  const allowedByWhitelist = whitelistPolicy(config.federation_domain_whitelist);
  const outbound = new RoomDestinations({
    storage,
    sender: {
      allowed: (servers) => config.federation_enabled === false ? [] : [...new Set(servers)].filter((s) => s !== config.server_name && allowedByWhitelist(s as ServerName)).sort() as ServerName[],
      pdusQueued: () => undefined,
    },
  });
  const rooms = new RoomService({ serverName: config.server_name, signer: { serverName: config.server_name, key }, clock, storage, outbound });
  const deps: AdminSession["deps"] = { serverName: config.server_name, clock, users: storage.users, passwords: scryptHasher(), admin: storage.admin, roomStore: storage.rooms, roomClient: storage.roomClient, rooms, defaultRoomVersion: config.default_room_version,
    // Media and federation destinations, as the admin API manages them (no remote fetches, no running sender).
    media: createMediaRepository(config, storage, clock), destinations: storage.destinations, outbound: storage.outbound };
  return { deps, close: () => storage.close() };
}
