/**
 * The EDU handlers of end-to-end encryption (the EduRegistry of PUT /send calls them; a throw is logged and never
 * fails the transaction). https://spec.matrix.org/v1.16/server-server-api/#device-management,
 * #end-to-end-encryption and #send-to-device-messaging.
 *
 * m.device_list_update:
 * 1. user_id must be a user of the origin, device_id a string, stream_id a non-negative integer, prev_id (when
 *    given) integers; keys, when given, must name the user and device (else they are dropped). Otherwise the EDU
 *    is ignored.
 * 2. The user must share a room with a local user (else ignored: nobody here tracks them).
 * 3. The update is applied to the cache by the prev_id rule (DeviceFederationStore.applyDeviceListUpdate); a
 *    prev_id we have not seen starts a background resync (DeviceListResync).
 * 4. The local users sharing a room with the user are woken (their sync lists the user in device_lists.changed).
 * m.signing_key_update: steps 1, 2 and 4 alike; the master and self-signing keys replace the cached ones.
 * m.direct_to_device:
 * 1. sender must be a user of the origin; type a string; message_id a string of at most 32 code points; messages
 *    an object of users of this server to {device id or "*": object}, at most LIMITS.maxToDeviceMessages in all.
 *    Entries for users of other servers are ignored. No shared room is required: the spec asks for none, and
 *    verification requests go to users one shares no room with.
 * 2. Delivered once per (origin, message_id) into the recipients' inboxes; their syncs are woken. Ids older than
 *    LIMITS.toDeviceIdRetentionMs are forgotten in the same transaction, so the table stays bounded.
 */
import { parseUserId, serverOfUserId, type ServerName, type UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { ToDeviceMessage } from "../../storage/ports.js";
import type { EduHandler } from "../transaction-gate.js";
import { keyFor, type DeviceListResync } from "./resync.js";
import type { DeviceListOutbound } from "./outbound.js";
import { LIMITS, type DeviceListDeps } from "./ports.js";

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The user id when it parses and belongs to the origin; else null. */
function userOfOrigin(v: unknown, origin: ServerName): UserId | null {
  if (typeof v !== "string") return null;
  try {
    const u = parseUserId(v);
    return serverOfUserId(u) === origin ? u : null;
  } catch {
    return null;
  }
}

export function e2eeEduHandlers(deps: DeviceListDeps, outbound: DeviceListOutbound, resync: DeviceListResync): EduHandler[] {
  const { storage, clock, log } = deps;

  const deviceListUpdate: EduHandler = {
    type: "m.device_list_update",
    async handle(origin, c) {
      const userId = userOfOrigin(c["user_id"], origin);
      const deviceId = c["device_id"];
      const prev = c["prev_id"] ?? [];
      if (!userId || typeof deviceId !== "string" || deviceId.length === 0 || deviceId.length > 255 || !isId(c["stream_id"]) || !Array.isArray(prev) || !prev.every(isId)) {
        log.debug({ origin }, "m.device_list_update ignored: malformed, or a user of another server");
        return;
      }
      if (!(await outbound.audience.sharesRoomWithLocalUser(userId))) return;
      const name = c["device_display_name"];
      const result = await storage.deviceFederation.applyDeviceListUpdate({
        userId, deviceId, streamId: c["stream_id"], prevIds: (prev as number[]).slice(0, LIMITS.maxPrevIds),
        deleted: c["deleted"] === true,
        displayName: typeof name === "string" && name.length <= 255 ? name : null,
        keys: keyFor(c["keys"], userId, deviceId),
      }, clock.now());
      if (result.outcome === "old") return;
      if (result.outcome === "gap") {
        log.info({ origin, user_id: userId, stream_id: c["stream_id"] }, "m.device_list_update names a prev_id we never saw; resyncing");
        resync.request(userId);
      }
      await outbound.wake(userId);
    },
  };

  const signingKeyUpdate: EduHandler = {
    type: "m.signing_key_update",
    async handle(origin, c) {
      const userId = userOfOrigin(c["user_id"], origin);
      if (!userId) return;
      if (!(await outbound.audience.sharesRoomWithLocalUser(userId))) return;
      const master = keyFor(c["master_key"], userId);
      const selfSigning = keyFor(c["self_signing_key"], userId);
      if (!master && !selfSigning) return;
      await storage.deviceFederation.applySigningKeyUpdate(userId, { ...(master ? { master } : {}), ...(selfSigning ? { selfSigning } : {}) }, clock.now());
      await outbound.wake(userId);
    },
  };

  const directToDevice: EduHandler = {
    type: "m.direct_to_device",
    async handle(origin, c) {
      const sender = userOfOrigin(c["sender"], origin);
      const type = c["type"];
      const messageId = c["message_id"];
      const messages = c["messages"];
      if (!sender || typeof type !== "string" || type.length === 0 || type.length > 255 || typeof messageId !== "string" || messageId.length === 0 || [...messageId].length > 32 || !isObject(messages)) {
        log.debug({ origin }, "m.direct_to_device ignored: malformed, or a sender of another server");
        return;
      }
      const out: ToDeviceMessage[] = [];
      for (const [raw, devices] of Object.entries(messages)) {
        const userId = userOfOrigin(raw, deps.serverName);
        if (!userId || !isObject(devices)) continue;
        for (const [deviceId, content] of Object.entries(devices)) {
          if (!isObject(content) || deviceId.length === 0 || deviceId.length > 255) continue;
          out.push({ userId, deviceId, message: { type, sender, content } });
        }
      }
      if (out.length > LIMITS.maxToDeviceMessages) {
        log.info({ origin, messages: out.length }, `m.direct_to_device ignored: more than ${LIMITS.maxToDeviceMessages} messages`);
        return;
      }
      const now = clock.now();
      if (!(await storage.deviceFederation.receiveToDevice(origin, messageId, out, now, now - LIMITS.toDeviceIdRetentionMs))) return;
      const pos = await storage.toDevice.maxPosition();
      for (const u of new Set(out.map((m) => m.userId))) deps.notifier.notifyUser("toDevice", u, pos);
    },
  };

  return [deviceListUpdate, signingKeyUpdate, directToDevice];
}
