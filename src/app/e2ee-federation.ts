/**
 * Wires end-to-end encryption across servers (src/rooms/device-lists) into the server: the EDU handlers into the
 * registry, and stores that report every local device or key change once it is committed.
 *
 * The wrapped stores, by what changes:
 * - e2ee.uploadKeys with device keys that differ from the stored ones: that device (m.device_list_update);
 * - e2ee.setCrossSigningKeys: m.signing_key_update (and the device-list wake);
 * - e2ee.addSignatures: each signed device of a local user (its keys now carry the signature), and the signing
 *   keys of a local user who signed their own master or self-signing key (another user's signature on them is
 *   shown to its signer alone: only the local wake);
 * - users.createLogin of a new device (a login without device_id, or naming one the user does not have): that
 *   device, before it has any keys (as Synapse: the users sharing a room see the user in device_lists.changed,
 *   other servers get m.device_list_update without keys); a login reusing a device is no change. A registration's
 *   first device (users.createUser) takes its position in storage but is not reported: no one shares a room yet;
 * - users.deleteDevice(s), deleteAllDevices, setPasswordHash (logging out), deactivateUser: the devices that are
 *   gone (deleted: true); users.setDeviceDisplayName: that device;
 * - e2ee.markDeviceListChanged: the local wake only.
 * A failure after the write is logged and never fails the client's request (the write has happened).
 */
import type { Clock } from "../core/clock.js";
import { serverOfUserId, type ServerName, type UserId } from "../core/ids/index.js";
import type { FederationClient } from "../federation/transport/client.js";
import type { FederationSender } from "../federation/sender/index.js";
import { E2eeFederation, type EduRegistry } from "../rooms/index.js";
import type { Storage } from "../storage/ports.js";
import { deviceListMembership, type Notifier } from "../sync/index.js";
import type { RemoteE2ee } from "../api/index.js";
import type { Logger } from "./logger.js";

export interface E2eeFederationWiring {
  readonly federation: E2eeFederation;
  /** storage.e2ee and storage.users, reporting changes. */
  readonly e2ee: Storage["e2ee"];
  readonly users: Storage["users"];
  /** For /keys/query, /keys/claim and /sendToDevice (UserDataDeps.remoteE2ee). */
  readonly remoteE2ee: RemoteE2ee;
}

export function wireE2eeFederation(o: {
  serverName: ServerName; storage: Storage; sender: FederationSender; client: FederationClient; notifier: Notifier; edus: EduRegistry; clock: Clock; logger: Logger;
}): E2eeFederationWiring {
  const log = o.logger.child({ area: "e2ee-federation" });
  const federation = new E2eeFederation({ serverName: o.serverName, storage: o.storage, sender: o.sender, client: o.client, notifier: o.notifier, clock: o.clock, log });
  for (const h of federation.eduHandlers) o.edus.register(h);
  const { e2ee, users } = o.storage;
  const report = (what: string, p: Promise<void>): Promise<void> => p.catch((e: unknown) => log.warn({ err: String(e) }, `reporting a device-list change (${what}) failed`));
  const isLocal = (u: UserId): boolean => serverOfUserId(u) === o.serverName;
  const deviceIds = async (userId: UserId): Promise<Set<string>> => new Set((await users.getDevices(userId)).map((d) => d.deviceId));
  /** Runs a device deletion and reports the devices it removed. */
  const deleting = async <T>(userId: UserId, write: () => Promise<T>): Promise<T> => {
    const before = await deviceIds(userId);
    const out = await write();
    const after = await deviceIds(userId);
    const gone = [...before].filter((d) => !after.has(d));
    if (gone.length > 0) await report("device deleted", federation.outbound.devicesChanged(userId, gone));
    return out;
  };

  const wrappedE2ee: Storage["e2ee"] = {
    ...e2ee,
    async uploadKeys(upload) {
      const old = upload.deviceKeys ? (await e2ee.getDeviceKeys([{ userId: upload.userId, deviceIds: [upload.deviceId] }])).get(upload.userId)?.get(upload.deviceId) : undefined;
      const out = await e2ee.uploadKeys(upload);
      if (upload.deviceKeys && JSON.stringify(old) !== JSON.stringify(upload.deviceKeys)) await report("keys uploaded", federation.outbound.devicesChanged(upload.userId, [upload.deviceId]));
      return out;
    },
    async setCrossSigningKeys(userId, keys) {
      await e2ee.setCrossSigningKeys(userId, keys);
      await report("cross-signing keys", federation.outbound.signingKeysChanged(userId));
    },
    async addSignatures(signatures) {
      await e2ee.addSignatures(signatures);
      const byUser = new Map<UserId, Set<string>>();
      for (const s of signatures) (byUser.get(s.targetUserId) ?? byUser.set(s.targetUserId, new Set()).get(s.targetUserId)!).add(s.targetKeyId);
      for (const [userId, targets] of byUser) {
        if (!isLocal(userId)) {
          await report("signature", federation.outbound.wake(userId));
          continue;
        }
        const devices = await deviceIds(userId);
        const signedDevices = [...targets].filter((t) => devices.has(t));
        if (signedDevices.length > 0) await report("signature", federation.outbound.devicesChanged(userId, signedDevices));
        // Another user's signature on a cross-signing key (a local user verifying this one) is shown to its signer
        // alone, so the other servers' view of the keys is unchanged: only the user's own signature is sent.
        const ownKeySigned = signatures.some((s) => s.targetUserId === userId && !devices.has(s.targetKeyId) && s.signerUserId === userId);
        if (ownKeySigned) await report("signature", federation.outbound.signingKeysChanged(userId));
        else if (signedDevices.length < targets.size) await report("signature", federation.outbound.wake(userId));
      }
    },
    async markDeviceListChanged(userId) {
      const pos = await e2ee.markDeviceListChanged(userId);
      await report("device list", federation.outbound.wake(userId));
      return pos;
    },
  };

  const wrappedUsers: Storage["users"] = {
    ...users,
    async createLogin(login) {
      const created = await users.createLogin(login);
      if (created) await report("new device", federation.outbound.devicesChanged(login.userId, [login.deviceId]));
      return created;
    },
    deleteDevice: (userId, deviceId) => deleting(userId, () => users.deleteDevice(userId, deviceId)),
    deleteDevices: (userId, ids) => deleting(userId, () => users.deleteDevices(userId, ids)),
    deleteAllDevices: (userId) => deleting(userId, () => users.deleteAllDevices(userId)),
    setPasswordHash: (userId, hash, logout) => deleting(userId, () => users.setPasswordHash(userId, hash, logout)),
    deactivateUser: (userId) => deleting(userId, () => users.deactivateUser(userId)),
    async setDeviceDisplayName(userId, deviceId, name) {
      const ok = await users.setDeviceDisplayName(userId, deviceId, name);
      if (ok) {
        await e2ee.markDeviceListChanged(userId);
        await report("device renamed", federation.outbound.devicesChanged(userId, [deviceId]));
      }
      return ok;
    },
  };
  const remoteE2ee: RemoteE2ee = {
    queryKeys: (requested, timeoutMs) => federation.remoteKeys.query(requested, timeoutMs),
    claimKeys: (requested, timeoutMs) => federation.remoteKeys.claim(requested, timeoutMs),
    sendToDevice: (sender, type, messages) => federation.outbound.sendToDevice(sender, type, messages),
  };
  return { federation, e2ee: wrappedE2ee, users: wrappedUsers, remoteE2ee };
}

/** /keys/changes' membership side: deviceListMembership between two event positions, bounded by the committed one. */
export async function deviceListMembershipBetween(storage: Storage, userId: UserId, fromEvents: number, toEvents: number): Promise<{ newlyShared: UserId[]; left: UserId[] }> {
  const to = Math.min(toEvents, await storage.events.maxStreamOrdering());
  if (to <= fromEvents) return { newlyShared: [], left: [] };
  const joined = await storage.rooms.getRoomsForUser(userId, "join");
  const sharing = new Set<UserId>([userId]);
  for (const r of joined) for (const u of await storage.roomClient.getRoomMembers(r, "join")) sharing.add(u);
  return deviceListMembership(storage, userId, fromEvents, to, joined, sharing);
}
