/**
 * Invites over federation, both sides, and a local user's way out of a remote invite:
 * https://spec.matrix.org/v1.16/server-server-api/#inviting-to-a-room
 * https://spec.matrix.org/v1.16/server-server-api/#leaving-rooms-rejecting-invites
 *
 * Invited side (PUT /v2/invite and /v1/invite, receiveInvite):
 * 1. the room version must be one Zion knows (400 M_INCOMPATIBLE_ROOM_VERSION with room_version);
 * 2. invite_room_state parsed (core/rooms parseStrippedState: M_BAD_JSON past the limit);
 * 3. the event's format, hashes, id (the one in the path: M_INVALID_PARAM) and the signature of the sender's server
 *    (403 M_FORBIDDEN when it does not verify);
 * 4. an m.room.member invite (400 M_BAD_JSON) whose sender belongs to the requesting server (403 M_FORBIDDEN) and
 *    whose state_key is a user of this server (400 M_INVALID_PARAM) that exists and is not deactivated (404
 *    M_NOT_FOUND / 403 M_FORBIDDEN);
 * 5. a room this server holds: its m.room.server_acl must allow the requesting server (403);
 * 6. countersigned with our key, stored as an outlier with an out-of-band membership (the stripped state beside
 *    it), the notifier told: the invitee's /sync lists the room under rooms.invite. Nothing is written before 6.
 *    In a room this server holds nothing is stored (the invite comes with the room's events through /send), and a
 *    target who is joined or banned is refused (403).
 *
 * Inviting side (a local user's /invite of a remote user, inviteRemoteUser):
 * 7. the invite is built and auth-checked over the room's current state (RoomService), then sent with v2 invite
 *    (full PDUs of the stripped state in invite_room_state, as MSC4311 asks); a v1-v2 room whose invitee's server
 *    does not know v2 (404, or 400/405 M_UNRECOGNIZED) is sent with v1, a later room is 400
 *    M_UNSUPPORTED_ROOM_VERSION; another refusal is answered with the remote status and errcode, no answer with 502;
 * 8. the answer must carry the invitee server's signature over our event: it is merged into our copy and verified
 *    (502 otherwise). The caller then persists the countersigned event; on any failure nothing is written.
 *
 * Rejecting (a local user's /leave of a room known only through an out-of-band invite, rejectRemoteInvite):
 * 9. make_leave / v2 send_leave through the inviting server (then the room id's server); the leave is stored as an
 *    out-of-band membership;
 * 10. when no server can be reached (or all refuse), a leave made here (prev and auth events: the invite's auth
 *    events and the invite), stored the same way, as Synapse does: the invite leaves the user's /sync.
 *
 * Knocking on a room of another server (knockRemoteRoom):
 * 11. make_knock on each candidate (the via servers, then the room id's server) with every room version Zion knows;
 *     a 403 ends it (403 M_FORBIDDEN), other failures try the next; the knock from the template (our content);
 * 12. send_knock to the same server; the knock is stored as an out-of-band membership with the knock_room_state
 *     answered, which the user's /sync shows under rooms.knock. No server: 502 "Failed to knock via any server".
 */
import { randomBytes } from "node:crypto";
import type { VerifyKey } from "../core/crypto/index.js";
import { verifyServerSignature } from "../core/crypto/sign.js";
import { MatrixError } from "../core/errors.js";
import { hashAndSignEvent, parsePdu, redactedSignedBytes, signEvent, type Pdu, type PduSigner } from "../core/events/index.js";
import type { EventId, KeyId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import { isKnownRoomVersion, roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { parseStrippedState } from "../core/rooms/index.js";
import { verifyRemoteBatch, type EventKeySource } from "./remote-event.js";
import { SUPPORTED_ROOM_VERSIONS, eventFromTemplate } from "./remote-join.js";
import { assertServerAllowedInRoom } from "./server-acl.js";
import type { RoomStorage } from "./room-service.js";

/** The FederationClient methods invites and rejections call. */
export interface RemoteInviteClient {
  invite(
    destination: ServerName, roomId: RoomId, eventId: EventId,
    q: { readonly event: JsonObject; readonly roomVersion: string; readonly inviteRoomState?: readonly JsonObject[] }, rules: RoomVersionRules,
  ): Promise<{ event: Pdu }>;
  inviteV1(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, rules: RoomVersionRules): Promise<{ event: Pdu }>;
  makeLeave(destination: ServerName, roomId: RoomId, userId: UserId): Promise<{ roomVersion: string | undefined; event: JsonObject }>;
  sendLeave(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject): Promise<void>;
  makeKnock(destination: ServerName, roomId: RoomId, userId: UserId, supportedVersions: readonly string[]): Promise<{ roomVersion: string; event: JsonObject }>;
  sendKnock(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject): Promise<{ knockRoomState: JsonObject[] }>;
}

export interface RemoteInviteContext {
  readonly serverName: ServerName;
  readonly signer: PduSigner;
  readonly storage: RoomStorage;
  readonly keys: EventKeySource;
  readonly nowTs: () => number;
  readonly notify: (maxOrdering: number, roomId: RoomId, events: readonly Pdu[]) => void;
  /** Runs a step in the room's queue (the checks before it, key fetches included, run outside). */
  readonly inRoomQueue: <T>(roomId: RoomId, fn: () => Promise<T>) => Promise<T>;
}

const serverOf = (id: string): string => id.slice(id.indexOf(":") + 1);
const statusOf = (e: unknown): number | undefined => (e instanceof Error && "status" in e ? (e as { status?: number }).status : undefined);
const errcodeOf = (e: unknown): string | undefined => (e instanceof Error && "errcode" in e ? (e as { errcode?: string }).errcode : undefined);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The wire form of a stored PDU (no `unsigned`). */
export function wireOf(p: Pdu): JsonObject {
  const { unsigned: _u, ...rest } = p.raw as Record<string, JsonValue>;
  return rest;
}

export interface InboundInvite {
  readonly roomId: RoomId;
  readonly eventId: EventId;
  /** v2's room_version; v1 requests carry none and mean room version 1 or 2 (which invites treat alike). */
  readonly roomVersion: string;
  readonly event: unknown;
  readonly inviteRoomState: unknown;
}

/** Steps 1-6: the countersigned invite event to answer with. */
export async function receiveInvite(ctx: RemoteInviteContext, origin: ServerName, req: InboundInvite): Promise<JsonObject> {
  // A room an admin blocked takes no invites (Synapse's answer), checked before any work on the event.
  if (await ctx.storage.admin.getRoomBlock(req.roomId)) throw MatrixError.forbidden(`This room has been blocked on this server: ${req.roomId}`);
  // Step 1.
  if (!isKnownRoomVersion(req.roomVersion)) {
    throw new MatrixError("M_INCOMPATIBLE_ROOM_VERSION", 400, `room version ${req.roomVersion} is not supported by this server`, { room_version: req.roomVersion });
  }
  const rules = roomVersion(req.roomVersion);
  // Step 2.
  const stripped = parseStrippedState(req.inviteRoomState, "invite_room_state");
  // Step 3.
  if (typeof req.event !== "object" || req.event === null || Array.isArray(req.event)) throw new MatrixError("M_BAD_JSON", 400, "event must be an object");
  const { unsigned: _u, ...raw } = req.event as Record<string, JsonValue>;
  const [v] = await verifyRemoteBatch(ctx.keys, [{ raw, rules }]);
  if (!v || !v.ok || !v.pdu || v.redacted) {
    const failures = v?.failures ?? [];
    const why = failures.map((f) => `${f.check}: ${f.reason}`).join("; ") || "the event fails its checks";
    if (failures.some((f) => f.check === "signatures")) throw MatrixError.forbidden(`the invite's signatures do not verify: ${why}`);
    throw new MatrixError("M_BAD_JSON", 400, `the invite event is malformed: ${why}`);
  }
  const pdu = v.pdu;
  if (pdu.eventId !== req.eventId) throw MatrixError.invalidParam("eventId", `the event's id is ${pdu.eventId}, not ${req.eventId}`);
  if (pdu.roomId !== req.roomId) throw MatrixError.invalidParam("room_id", `the event is for ${pdu.roomId}, not ${req.roomId}`);
  // Step 4.
  if (pdu.type !== "m.room.member" || pdu.content["membership"] !== "invite" || pdu.stateKey === undefined) {
    throw new MatrixError("M_BAD_JSON", 400, "the event must be an m.room.member event with membership invite");
  }
  if (serverOf(pdu.sender) !== origin) throw MatrixError.forbidden(`the sender ${pdu.sender} is not a user of ${origin}`);
  const invitee = pdu.stateKey as UserId;
  if (!invitee.startsWith("@") || serverOf(invitee) !== ctx.serverName) throw MatrixError.invalidParam("state_key", `${invitee} is not a user of this server`);
  const user = await ctx.storage.users.getUser(invitee);
  if (!user) throw MatrixError.notFound(`unknown user ${invitee}`);
  if (user.deactivated) throw MatrixError.forbidden(`${invitee} is deactivated`);
  // Step 5.
  await assertServerAllowedInRoom(ctx.storage, req.roomId, origin);
  // Step 6. A room this server is in (a local user joined): the invite is room state, which arrives with the
  // inviting server's /send (a membership event always goes to its target's server) and goes through the room
  // pipeline; storing it here, even as an outlier, would make that copy "already known". Only a target who is joined
  // or banned is refused now. A room this server holds but has left (its last local member left, was kicked or
  // banned) gets no /send it can follow, so its invite is out-of-band like an unknown room's, as Synapse does.
  const signed = signEvent(raw, rules, ctx.signer);
  return ctx.inRoomQueue(req.roomId, async () => {
    const suffix = `:${ctx.serverName}`;
    const inRoom = (await ctx.storage.rooms.getRoom(req.roomId)) !== null
      && (await ctx.storage.roomClient.getRoomMembers(req.roomId, "join")).some((u) => u.endsWith(suffix));
    if (inRoom) {
      const memberId = await ctx.storage.rooms.getCurrentStateEventId(req.roomId, "m.room.member", invitee);
      const current = memberId ? (await ctx.storage.events.getPdus([memberId])).get(memberId)?.content["membership"] : undefined;
      if (current === "join" || current === "ban") throw MatrixError.forbidden(`${invitee} is ${current === "join" ? "joined to" : "banned from"} ${req.roomId} already`);
      return signed;
    }
    const countersigned = parsePdu(signed, rules);
    const result = await ctx.storage.events.persistEvents({
      events: [{ pdu: countersigned, outlier: true }],
      outOfBand: [{ roomId: req.roomId, userId: invitee, membership: "invite", eventId: countersigned.eventId, strippedState: stripped }],
      receivedTs: ctx.nowTs(),
    });
    ctx.notify(result.maxOrdering, req.roomId, [countersigned]);
    return signed;
  });
}

/** Steps 7-8 for an invite built over the room's state: the invite with the invitee server's signature added. */
export async function sendInvite(
  ctx: RemoteInviteContext & { readonly client: RemoteInviteClient }, invite: Pdu, rules: RoomVersionRules, inviteRoomState: readonly JsonObject[],
): Promise<Pdu> {
  const target = serverOf(invite.stateKey!) as ServerName;
  const event = wireOf(invite);
  // Step 7.
  let answer: { event: Pdu };
  try {
    try {
      answer = await ctx.client.invite(target, invite.roomId, invite.eventId, { event, roomVersion: rules.id, inviteRoomState }, rules);
    } catch (e) {
      const status = statusOf(e);
      const unknownEndpoint = status === 404 || ((status === 400 || status === 405) && errcodeOf(e) === "M_UNRECOGNIZED");
      if (!unknownEndpoint) throw e;
      // v1 invites exist for the room versions of v1 events (1 and 2); later rooms need v2 (Synapse's answer).
      if (rules.eventFormat !== "v1") throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", 400, `${target} does not serve v2 invites, which room version ${rules.id} needs: ${message(e)}`);
      answer = await ctx.client.inviteV1(target, invite.roomId, invite.eventId, { ...event, unsigned: { invite_room_state: [...inviteRoomState] } }, rules);
    }
  } catch (e) {
    if (e instanceof MatrixError) throw e;
    const status = statusOf(e);
    // A 401 would read as the client's own token failing: that one is the invitee's server's problem (502).
    if (status !== undefined && status >= 400 && status < 500 && status !== 401) {
      const errcode = errcodeOf(e) ?? "M_UNKNOWN";
      throw new MatrixError(errcode as "M_UNKNOWN", status, `${target} refused the invite: ${message(e)}`);
    }
    throw new MatrixError("M_UNKNOWN", 502, `Failed to send the invite to ${target}: ${message(e)}`);
  }
  // Step 8.
  const theirs = answer.event.raw["signatures"];
  const bySig = typeof theirs === "object" && theirs !== null && !Array.isArray(theirs) ? (theirs as JsonObject)[target] : undefined;
  if (typeof bySig !== "object" || bySig === null || Array.isArray(bySig)) throw new MatrixError("M_UNKNOWN", 502, `${target} answered the invite without its signature`);
  const mine = invite.raw["signatures"] as JsonObject;
  const merged: JsonObject = { ...event, signatures: { ...mine, [target]: bySig } };
  const keyIds = Object.keys(bySig).filter((k) => k.startsWith("ed25519:")) as KeyId[];
  let keys = new Map<KeyId, VerifyKey>();
  try {
    keys = await ctx.keys.getKeysForEvents(target, keyIds, undefined);
  } catch {
    // no keys: the check below fails
  }
  const verdict = verifyServerSignature(merged, redactedSignedBytes(merged, rules), target, (_s, id) => keys.get(id));
  if (!verdict.ok) throw new MatrixError("M_UNKNOWN", 502, `${target}'s signature on the invite does not verify: ${verdict.reason}`);
  return parsePdu(merged, rules);
}

/** Steps 9-10: the user's out-of-band invite (or knock) replaced by a leave; returns the leave's event id. */
export async function rejectRemoteInvite(
  ctx: RemoteInviteContext & { readonly client: RemoteInviteClient }, roomId: RoomId, userId: UserId, invite: Pdu, reason: string | undefined,
): Promise<EventId> {
  const rules = invite.roomVersion;
  const servers = [...new Set([serverOf(invite.sender), ...(roomId.includes(":") ? [serverOf(roomId)] : [])])].filter((s) => s !== ctx.serverName) as ServerName[];
  const content: JsonObject = { membership: "leave", ...(reason !== undefined ? { reason } : {}) };
  let leave: Pdu | null = null;
  // Step 9.
  for (const server of servers) {
    try {
      const tpl = await ctx.client.makeLeave(server, roomId, userId);
      const tplRules = tpl.roomVersion !== undefined && isKnownRoomVersion(tpl.roomVersion) ? roomVersion(tpl.roomVersion) : rules;
      const built = eventFromTemplate(tpl.event, tplRules, { serverName: ctx.serverName, signer: ctx.signer, nowTs: ctx.nowTs }, roomId, userId, content);
      await ctx.client.sendLeave(server, roomId, built.eventId, built.raw);
      leave = built;
      break;
    } catch {
      // the next server, then a local leave (step 10)
    }
  }
  // Step 10.
  leave ??= localLeave(ctx, invite, userId, content);
  const result = await ctx.storage.events.persistEvents({
    events: [{ pdu: leave, outlier: true }],
    outOfBand: [{ roomId, userId, membership: "leave", eventId: leave.eventId }],
    receivedTs: ctx.nowTs(),
  });
  ctx.notify(result.maxOrdering, roomId, [leave]);
  return leave.eventId;
}

/** Steps 11-12: the knock's event id. */
export async function knockRemoteRoom(
  ctx: RemoteInviteContext & { readonly client: RemoteInviteClient }, roomId: RoomId, userId: UserId, servers: readonly ServerName[], content: JsonObject,
): Promise<EventId> {
  const errors: string[] = [];
  for (const server of servers) {
    let knock: Pdu;
    let answer: { knockRoomState: JsonObject[] };
    try {
      // Step 11.
      const tpl = await ctx.client.makeKnock(server, roomId, userId, SUPPORTED_ROOM_VERSIONS);
      if (!isKnownRoomVersion(tpl.roomVersion)) throw new Error(`unknown room version ${tpl.roomVersion}`);
      knock = eventFromTemplate(tpl.event, roomVersion(tpl.roomVersion), ctx, roomId, userId, { ...content, membership: "knock" });
      // Step 12.
      answer = await ctx.client.sendKnock(server, roomId, knock.eventId, knock.raw);
    } catch (e) {
      if (statusOf(e) === 403) throw MatrixError.forbidden(`${server} refused the knock: ${message(e)}`);
      errors.push(`${server}: ${message(e)}`);
      continue;
    }
    const stripped = parseStrippedState(answer.knockRoomState, "knock_room_state");
    const result = await ctx.storage.events.persistEvents({
      events: [{ pdu: knock, outlier: true }],
      outOfBand: [{ roomId, userId, membership: "knock", eventId: knock.eventId, strippedState: stripped }],
      receivedTs: ctx.nowTs(),
    });
    ctx.notify(result.maxOrdering, roomId, [knock]);
    return knock.eventId;
  }
  throw new MatrixError("M_UNKNOWN", 502, `Failed to knock via any server: ${errors.join("; ") || "no server to ask"}`);
}

/** Step 10's leave: after the invite, authorised by the invite's auth events and the invite itself. */
function localLeave(ctx: Pick<RemoteInviteContext, "serverName" | "signer" | "nowTs">, invite: Pdu, userId: UserId, content: JsonObject): Pdu {
  const rules = invite.roomVersion;
  const hashes = invite.raw["hashes"] as JsonObject | undefined;
  const ref: JsonValue = rules.eventFormat === "v1" ? [invite.eventId, { sha256: (hashes?.["sha256"] as string | undefined) ?? "" }] : invite.eventId;
  const authEvents = Array.isArray(invite.raw["auth_events"]) ? (invite.raw["auth_events"] as JsonValue[]) : [];
  const event: Record<string, JsonValue> = {
    room_id: invite.roomId, type: "m.room.member", state_key: userId, sender: userId, content,
    prev_events: [ref], auth_events: [...authEvents, ref], depth: invite.depth + 1, origin_server_ts: ctx.nowTs(),
  };
  if (rules.eventId === "server-minted") event["event_id"] = `$${randomBytes(12).toString("base64url")}:${ctx.serverName}`;
  return parsePdu(hashAndSignEvent(event, rules, ctx.signer), rules);
}

/**
 * PDUs of a room this server does not hold that it stored already as out-of-band invites (the inviting server's
 * sender delivers the invite with /send too), by their raw object: each id computed for the stored invite's room
 * version, only for member events of local users.
 */
export async function storedOutOfBandEvents(storage: RoomStorage, serverName: ServerName, roomId: RoomId, raws: readonly unknown[]): Promise<Map<unknown, EventId>> {
  const out = new Map<unknown, EventId>();
  for (const raw of raws) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) continue;
    const o = raw as JsonObject;
    if (o["type"] !== "m.room.member" || typeof o["state_key"] !== "string" || !o["state_key"].endsWith(`:${serverName}`)) continue;
    const record = await storage.rooms.getMembership(roomId, o["state_key"] as UserId);
    const stored = record ? (await storage.events.getPdus([record.eventId])).get(record.eventId) : undefined;
    if (!stored) continue;
    try {
      if (parsePdu(o, stored.roomVersion).eventId === stored.eventId) out.set(raw, stored.eventId);
    } catch {
      // not the stored event
    }
  }
  return out;
}

