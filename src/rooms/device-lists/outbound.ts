/**
 * A local user's devices or keys changed: wake the syncs that should see it and tell the other servers.
 * https://spec.matrix.org/v1.16/server-server-api/#device-management
 *
 * 1. Local syncs: every local user sharing a room with the user (and the user) is notified on the deviceLists
 *    stream at the store's newest position (the change is already in device_list_changes).
 * 2. m.device_list_update: one EDU per changed device, each with the next stream_id of the user's sequence and
 *    prev_id naming the EDU before it (none for the first), `deleted` when the device is gone, its display name
 *    and keys (signatures merged) otherwise; queued persistently to every server sharing a room with the user.
 *    A user's changes are handled one after another, so stream ids are queued in order.
 * 3. m.signing_key_update: the master and self-signing keys (the user-signing key stays private), to the same
 *    servers, when a cross-signing key changed or was signed. Each carries its owner's signatures only, as
 *    GET /user/devices answers it: another user's signature (a local user verifying them) is for that user to see.
 * 4. m.direct_to_device: /sendToDevice messages for users of other servers, one EDU per destination (split past
 *    LIMITS.maxToDeviceEduBytes), each with a random message_id, queued persistently.
 */
import { randomBytes } from "node:crypto";
import { serverOfUserId, type ServerName, type UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import { KeyedQueue } from "../keyed-queue.js";
import { RoomAudience } from "./audience.js";
import { LIMITS, type DeviceListDeps } from "./ports.js";

/** `key` with the signatures of `owner` only (a key without signatures is returned as it is). */
function ownSignatures(key: JsonObject, owner: UserId): JsonObject {
  const sigs = key["signatures"];
  if (typeof sigs !== "object" || sigs === null || Array.isArray(sigs)) return key;
  const own = (sigs as JsonObject)[owner];
  return { ...key, signatures: own === undefined ? {} : { [owner]: own } };
}

export class DeviceListOutbound {
  private readonly queue = new KeyedQueue();
  readonly audience: RoomAudience;

  constructor(private readonly deps: DeviceListDeps) {
    this.audience = new RoomAudience(deps.storage, deps.serverName);
  }

  /** Step 1 for any user, local or remote, after its change is stored. */
  async wake(userId: UserId): Promise<void> {
    const pos = await this.deps.storage.e2ee.maxDeviceListPosition();
    for (const u of await this.audience.localUsers(userId)) this.deps.notifier.notifyUser("deviceLists", u, pos);
  }

  /** Steps 1-2: the devices (added, changed, re-signed or deleted) of a local user. */
  devicesChanged(userId: UserId, deviceIds: readonly string[]): Promise<void> {
    return this.queue.run(userId, async () => {
      await this.wake(userId);
      const ids = [...new Set(deviceIds)].sort();
      if (ids.length === 0) return;
      const { storage } = this.deps;
      const { prev, ids: streamIds } = await storage.deviceFederation.nextOutboundStreamIds(userId, ids.length);
      const destinations = await this.audience.remoteServers(userId);
      if (destinations.length === 0) return;
      const keys = (await storage.e2ee.getDeviceKeys([{ userId, deviceIds: ids }])).get(userId);
      for (const [i, deviceId] of ids.entries()) {
        const before = i === 0 ? prev : streamIds[i - 1]!;
        const device = await storage.users.getDevice(userId, deviceId);
        const content: Record<string, JsonValue> = { user_id: userId, device_id: deviceId, stream_id: streamIds[i]!, prev_id: before > 0 ? [before] : [], deleted: device === null };
        if (device?.displayName) content["device_display_name"] = device.displayName;
        const k = device ? keys?.get(deviceId) : undefined;
        if (k) content["keys"] = k;
        await this.deps.sender.enqueueEdu(destinations, { edu_type: "m.device_list_update", content }, { persistent: true });
      }
    });
  }

  /** Steps 1 and 3: a local user's cross-signing keys changed. */
  signingKeysChanged(userId: UserId): Promise<void> {
    return this.queue.run(userId, async () => {
      await this.wake(userId);
      const destinations = await this.audience.remoteServers(userId);
      if (destinations.length === 0) return;
      const keys = (await this.deps.storage.e2ee.getCrossSigningKeys([userId])).get(userId);
      const content: Record<string, JsonValue> = { user_id: userId };
      const master = keys?.get("master");
      const selfSigning = keys?.get("self_signing");
      if (master) content["master_key"] = ownSignatures(master.key, userId);
      if (selfSigning) content["self_signing_key"] = ownSignatures(selfSigning.key, userId);
      if (!master && !selfSigning) return;
      await this.deps.sender.enqueueEdu(destinations, { edu_type: "m.signing_key_update", content }, { persistent: true });
    });
  }

  /** Step 4: `messages` are {user id: {device id or "*": content}} for users of other servers only. */
  async sendToDevice(sender: UserId, type: string, messages: ReadonlyMap<UserId, Readonly<Record<string, JsonObject>>>): Promise<number> {
    const byServer = new Map<ServerName, [UserId, Readonly<Record<string, JsonObject>>][]>();
    for (const [userId, devices] of messages) {
      const s = serverOfUserId(userId);
      if (s === this.deps.serverName) continue;
      const l = byServer.get(s) ?? [];
      l.push([userId, devices]);
      byServer.set(s, l);
    }
    let edus = 0;
    for (const [destination, entries] of byServer) {
      let part: Record<string, Record<string, JsonObject>> = {};
      let size = 0;
      const flush = async () => {
        if (Object.keys(part).length === 0) return;
        const content: JsonObject = { sender, type, message_id: randomBytes(12).toString("base64url"), messages: part };
        await this.deps.sender.enqueueEdu([destination], { edu_type: "m.direct_to_device", content }, { persistent: true });
        edus++;
        part = {};
        size = 0;
      };
      for (const [userId, devices] of entries) {
        for (const [deviceId, body] of Object.entries(devices)) {
          const bytes = JSON.stringify(body).length + deviceId.length + userId.length;
          if (size > 0 && size + bytes > LIMITS.maxToDeviceEduBytes) await flush();
          (part[userId] ??= {})[deviceId] = body;
          size += bytes;
        }
      }
      await flush();
    }
    return edus;
  }
}
