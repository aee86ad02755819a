/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid
 * 1. messages: `{user id: {device id or "*": content object}}`, at most 10,000 entries (body at most 1 MiB).
 * 2. Idempotent per (sender's device, txnId): a repeated request answers {} and queues nothing again.
 * 3. Each local recipient device gets `{type, sender, content}` in its inbox with a to-device stream position;
 *    `*` means every device the user has at that moment; unknown devices get nothing. /sync delivers the inbox
 *    and deletes what a later since-token acknowledges (ToDeviceStore.inbox / acknowledge).
 * 4. Recipients on other servers get m.direct_to_device EDUs, one per destination server (split when large), each
 *    with its own message_id, queued persistently by the federation sender, only when the txn id is new.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { ToDeviceMessage } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";

const MAX_MESSAGES = 10_000;

export const sendToDevice = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/sendToDevice/:eventType/:txnId",
  auth: "access-token",
  params: z.object({ eventType: z.string().min(1).max(255), txnId: z.string().min(1).max(255) }),
  body: z.looseObject({ messages: z.record(z.string().max(255), z.record(z.string().min(1).max(255), z.looseObject({}))) }),
  maxBodyBytes: 1024 * 1024,
  async handle({ user, params, body }, { toDevice, serverName, clock, remoteE2ee }: Pick<UserDataDeps, "toDevice" | "serverName" | "clock" | "remoteE2ee">) {
    const messages: ToDeviceMessage[] = [];
    const remote = new Map<UserId, Record<string, JsonObject>>();
    let remoteCount = 0;
    for (const [raw, devices] of Object.entries(body.messages)) {
      const userId = parseUserId(raw, `messages.${raw}`);
      if (serverOfUserId(userId) !== serverName) {
        remote.set(userId, devices as Record<string, JsonObject>);
        remoteCount += Object.keys(devices).length;
        continue;
      }
      for (const [deviceId, content] of Object.entries(devices)) {
        messages.push({ userId, deviceId, message: { type: params.eventType, sender: user.userId, content: content as JsonObject } });
      }
    }
    if (messages.length + remoteCount > MAX_MESSAGES) throw MatrixError.invalidParam("messages", `at most ${MAX_MESSAGES} devices per request`);
    const fresh = await toDevice.send({ userId: user.userId, deviceId: user.deviceId }, params.txnId, messages, clock.now());
    if (fresh && remote.size > 0) await remoteE2ee.sendToDevice(user.userId, params.eventType, remote);
    return {};
  },
});
