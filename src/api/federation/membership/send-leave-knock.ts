/**
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2send_leaveroomideventid
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv1send_knockroomideventid
 * The room's m.room.server_acl must allow the requesting server (403 M_FORBIDDEN naming it, rooms/server-acl.ts).
 * The body is the signed leave (knock) of a user of the requesting server, with the id in the path; it goes through
 * the room pipeline and must be accepted (403 otherwise). send_leave answers {}; send_knock answers
 * knock_room_state (stripped state: create, join rules, name, avatar, canonical alias, encryption, topic).
 */
import { z } from "zod";
import { defineFederationRoute } from "../../http/index.js";
import { eventIdParam, roomIdParam } from "../events/access.js";
import type { MembershipDeps } from "./make-join.js";

const params = z.object({ roomId: z.string(), eventId: z.string() });

export const sendLeave = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v2/send_leave/:roomId/:eventId",
  auth: "x-matrix",
  params,
  body: z.record(z.string(), z.unknown()),
  async handle({ origin, params: p, body }, { rooms }: MembershipDeps) {
    return rooms.acceptSendMembership(origin, roomIdParam(p.roomId), eventIdParam(p.eventId, "eventId"), body, "leave");
  },
});

export const sendKnock = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v1/send_knock/:roomId/:eventId",
  auth: "x-matrix",
  params,
  body: z.record(z.string(), z.unknown()),
  async handle({ origin, params: p, body }, { rooms }: MembershipDeps) {
    return rooms.acceptSendMembership(origin, roomIdParam(p.roomId), eventIdParam(p.eventId, "eventId"), body, "knock");
  },
});
