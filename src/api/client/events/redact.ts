/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid
 *
 * 1. The event must be in the room and visible to the user (404 otherwise).
 * 2. Another user's event needs the redact power level (403): the auth rules let any server redact its own
 *    users' events, so this client rule is the server's to apply.
 * 3. Idempotent per (user, device, room, txn id), like /send; rc_message per user.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseEventId } from "../../../core/ids/index.js";
import type { JsonValue } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { Reason, roomIdParam } from "../rooms/shared.js";
import { TxnId, visibleEvent } from "./shared.js";

export const redact = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/rooms/:roomId/redact/:eventId/:txnId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventId: z.string().min(1), txnId: TxnId }),
  body: z.looseObject({ reason: Reason }),
  emptyBodyIsObject: true,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "roomReads" | "events" | "rateLimits">) {
    const roomId = roomIdParam(params.roomId);
    const eventId = parseEventId(params.eventId, "eventId");
    // Step 1
    const target = await visibleEvent(deps, roomId, user.userId, eventId);
    // Step 2
    if (target.sender !== user.userId) {
      const view = await deps.roomReads.powerLevels(roomId);
      if (!view || view.userLevel(user.userId) < view.redact) throw MatrixError.forbidden(`redacting another user's event needs power level ${view?.redact ?? 50} in ${roomId}`);
    }
    // Step 3
    deps.rateLimits.take("rc_message", user.userId);
    const content: Record<string, JsonValue> = {};
    if (body.reason !== undefined) content["reason"] = body.reason;
    const r = await deps.rooms.sendOnce(
      { userId: user.userId, deviceId: user.deviceId, endpoint: "redact", roomId, txnId: params.txnId },
      { type: "m.room.redaction", sender: user.userId, content, redacts: eventId },
    );
    return { event_id: r.eventId };
  },
});
