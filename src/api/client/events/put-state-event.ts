/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey
 * The pipeline decides (403 for too little power); content equal to the current event's returns that event's id
 * and writes nothing (as Synapse). rc_message per user. Membership changes go through the membership endpoints'
 * rules here too: the auth rules apply alike.
 */
import { z } from "zod";
import { canonicalJson } from "../../../core/json/canonical.js";
import { defineClientRoute, type Route } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { roomIdParam } from "../rooms/shared.js";
import { EventContent, EventType } from "./shared.js";

export const putStateEvent = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey",
  auth: "access-token",
  params: z.object({ roomId: z.string().min(1), eventType: EventType, stateKey: z.string().max(255).default("") }),
  body: EventContent,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body }, deps: Pick<RoomDeps, "rooms" | "rateLimits">) {
    const roomId = roomIdParam(params.roomId);
    deps.rateLimits.take("rc_message", user.userId);
    const current = await deps.rooms.currentStateEvent(roomId, params.eventType, params.stateKey);
    if (current && current.sender === user.userId && canonicalJson(current.content) === canonicalJson(body)) return { event_id: current.eventId };
    const pdu = await deps.rooms.send(roomId, { type: params.eventType, stateKey: params.stateKey, sender: user.userId, content: body });
    return { event_id: pdu.eventId };
  },
});

export const putStateEventEmptyKey: Route<unknown> = { ...putStateEvent, path: "/_matrix/client/v3/rooms/:roomId/state/:eventType" };
