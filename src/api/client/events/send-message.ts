/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid
 *
 * 1. rc_message per user.
 * 2. Idempotent per (user, device, room, txn id): a repeat returns the first event id and stores nothing; the
 *    check and the write run in the room's queue, so racing repeats write one event.
 * 3. The pipeline builds, checks (non-members and too little power: 403) and persists the event.
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { EventContent, EventType, TxnId } from "./shared.js";

export const sendMessage = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventType: EventType, txnId: TxnId }),
  body: EventContent,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "rateLimits">) {
    const roomId = roomIdParam(params.roomId);
    // Step 1
    deps.rateLimits.take("rc_message", user.userId);
    // Steps 2 and 3
    const r = await deps.rooms.sendOnce(
      { userId: user.userId, deviceId: user.deviceId, endpoint: "send", roomId, txnId: params.txnId },
      { type: params.eventType, sender: user.userId, content: body },
    );
    return { event_id: r.eventId };
  },
});
