/**
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2inviteroomideventid
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv1inviteroomideventid
 * An invite of a user of this server into a room of the requesting server: v2 carries `room_version`, `event` and
 * `invite_room_state`; v1 (room versions 1-2) carries the event alone, with invite_room_state under its `unsigned`,
 * and answers `[200, {event}]`. The checks, the countersignature and the out-of-band invite the user's /sync shows
 * are RoomService.receiveInvite's (src/rooms/remote-invite.ts, steps 1-6); bad input writes nothing.
 * Before any of that, rc_invites.per_user counts the invite against its invitee (the event's state_key), as
 * Synapse does for invites from other servers: one server, or many, cannot flood a user with invites. The room and
 * the inviter are left to the inviting server's own limits.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import { eventIdParam, roomIdParam } from "../events/access.js";
import type { MembershipDeps } from "./make-join.js";

/** rc_invites.per_user for the invitee named by an invite event's state_key (a malformed one is receiveInvite's to refuse). */
function limitInvitee({ rateLimits }: MembershipDeps, event: unknown): void {
  const invitee = typeof event === "object" && event !== null ? (event as Record<string, unknown>)["state_key"] : undefined;
  if (typeof invitee === "string") rateLimits.take("rc_invites.per_user", invitee);
}

const params = z.object({ roomId: z.string(), eventId: z.string() });

export const inviteV2 = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v2/invite/:roomId/:eventId",
  auth: "x-matrix",
  params,
  body: z.record(z.string(), z.unknown()),
  async handle({ origin, params: p, body }, deps: MembershipDeps) {
    const { rooms } = deps;
    if (typeof body["room_version"] !== "string") throw new MatrixError("M_MISSING_PARAM", 400, "room_version is required and must be a string");
    if (typeof body["event"] !== "object" || body["event"] === null || Array.isArray(body["event"])) throw new MatrixError("M_MISSING_PARAM", 400, "event is required and must be an object");
    limitInvitee(deps, body["event"]);
    const event = await rooms.receiveInvite(origin, {
      roomId: roomIdParam(p.roomId), eventId: eventIdParam(p.eventId, "eventId"), roomVersion: body["room_version"], event: body["event"], inviteRoomState: body["invite_room_state"],
    });
    return { event };
  },
});

export const inviteV1 = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v1/invite/:roomId/:eventId",
  auth: "x-matrix",
  params,
  body: z.record(z.string(), z.unknown()),
  async handle({ origin, params: p, body }, deps: MembershipDeps) {
    const { rooms } = deps;
    limitInvitee(deps, body);
    const unsigned = body["unsigned"];
    const inviteRoomState = typeof unsigned === "object" && unsigned !== null && !Array.isArray(unsigned) ? (unsigned as Record<string, unknown>)["invite_room_state"] : undefined;
    // No room version in v1: room versions 1 and 2 differ only in state resolution, which an invite never needs.
    const event = await rooms.receiveInvite(origin, { roomId: roomIdParam(p.roomId), eventId: eventIdParam(p.eventId, "eventId"), roomVersion: "1", event: body, inviteRoomState });
    return [200, { event }];
  },
});
