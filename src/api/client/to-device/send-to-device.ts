/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid
 * 1. messages: `{user id: {device id or "*": content object}}`, at most 10,000 entries (body at most 1 MiB).
 * 2. Idempotent per (sender's device, txnId): a repeated request answers {} and queues nothing again.
 * 3. Each local recipient device gets `{type, sender, content}` in its inbox with a to-device stream position;
 *    `*` means every device the user has at that moment; unknown devices get nothing. /sync delivers the inbox
 *    and deletes what a later since-token acknowledges (ToDeviceStore.inbox / acknowledge).
 * 4. Recipients on other servers are not delivered until the federation sender exists (m.direct_to_device EDUs);
 *    the request still succeeds for the local ones.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId } from "../../../core/ids/index.js";
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
  async handle({ user, params, body, log }, { toDevice, serverName, clock }: Pick<UserDataDeps, "toDevice" | "serverName" | "clock">) {
    const messages: ToDeviceMessage[] = [];
    let remote = 0;
    for (const [raw, devices] of Object.entries(body.messages)) {
      const userId = parseUserId(raw, `messages.${raw}`);
      for (const [deviceId, content] of Object.entries(devices)) {
        if (serverOfUserId(userId) !== serverName) {
          remote++;
          continue;
        }
        messages.push({ userId, deviceId, message: { type: params.eventType, sender: user.userId, content: content as JsonObject } });
      }
    }
    if (messages.length + remote > MAX_MESSAGES) throw MatrixError.invalidParam("messages", `at most ${MAX_MESSAGES} devices per request`);
    if (remote > 0) log.info({ remote }, "to-device messages for other servers are not delivered yet");
    await toDevice.send({ userId: user.userId, deviceId: user.deviceId }, params.txnId, messages, clock.now());
    return {};
  },
});
