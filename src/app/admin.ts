/**
 * `zion admin` (cli/admin.ts) works on the database directly, through the same admin service as the HTTP admin API
 * (api/client/admin/service.ts), so a closed server can be managed without a client. This builds that service's
 * dependencies from homeserver.yaml alone: the configured storage (migrated like at start-up), the password hasher,
 * and the room pipeline signing with the server's key (a deactivated user leaves its rooms with signed events).
 */
import type { AdminDeps } from "../api/index.js";
import { adminService, scryptHasher } from "../api/index.js";

export { adminService };
import type { HomeserverConfig } from "../config/index.js";
import { RoomService } from "../rooms/index.js";
import { systemClock } from "./homeserver.js";
import { readSigningKeys } from "./signing-key.js";
import { openConfiguredStorage } from "./storage.js";

export interface AdminSession {
  readonly deps: AdminDeps;
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
  const rooms = new RoomService({ serverName: config.server_name, signer: { serverName: config.server_name, key }, clock, storage });
  const deps: AdminDeps = { serverName: config.server_name, clock, users: storage.users, passwords: scryptHasher(), admin: storage.admin, roomStore: storage.rooms, rooms };
  return { deps, close: () => storage.close() };
}
