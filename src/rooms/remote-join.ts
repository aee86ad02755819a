/**
 * Membership over federation, both sides:
 * https://spec.matrix.org/v1.16/server-server-api/#joining-rooms
 *
 * Resident side (RoomService.makeJoin / acceptSendJoin; make_leave, make_knock, send_leave and send_knock alike):
 * 0. the room's m.room.server_acl must allow the requesting server (403 M_FORBIDDEN, server-acl.ts), checked first;
 * 1. make_join: the room version must be among the joining server's `ver` (else 400 M_INCOMPATIBLE_ROOM_VERSION
 *    with room_version); the template is the join built over the current state (so a user the auth rules refuse
 *    is 403 already), without hashes, signatures or a minted id.
 * 2. send_join: the event must be a join of a user of the sending server, for this room, with the id in the path;
 *    it goes through the remote pipeline (ingestChecked) like any PDU, and must be accepted (not rejected nor
 *    soft-failed: 403). The answer is the state before the join and its auth chain; with omit_members, the
 *    membership events other than the joiner's are left out (members_omitted) and servers_in_room lists the
 *    servers of joined members.
 *
 * Joining side (RoomService.join of a room this server does not hold, joinRemoteRoom here):
 * 3. make_join on each candidate server in turn (the via servers, then the room id's server) until one answers; a
 *    403 ends the join, any other failure (M_UNABLE_TO_GRANT_JOIN and M_UNABLE_TO_AUTHORISE_JOIN included: the
 *    spec's "try a different server") moves on. When every server refused with those two, the client gets 400 with
 *    that errcode (M_UNABLE_TO_AUTHORISE_JOIN when they differ), as the spec asks make_join's 400s be passed on;
 *    otherwise 502 naming each server's failure;
 * 4. the join from the template: our content, origin_server_ts, hashes, our signature;
 * 5. send_join to the same server; every returned event (state and auth chain) verified in one batch, the
 *    auth chain and state stored as outliers, each checked against its own auth events;
 * 6. the join checked against the returned state and persisted with it as its state before, the room recorded
 *    and its current state set: the room is usable at once. With `partialJoins`, send_join asks for omit_members;
 *    an answer with members_omitted (partial-state.ts step 1) is checked the same way (the joiner's own membership
 *    is all the auth rules need of members) and persisted with the room recorded as partial-state, in the same
 *    transaction; the caller then starts the completion. A full answer (a resident ignoring the flag) is a full join.
 * Restricted joins (v8+): a template naming join_authorised_via_users_server keeps it in our join, and step 5 takes
 * the authorising server's signature from send_join's `event` (merged into our copy and verified); the resident
 * side (RoomService.makeMembership / acceptSendJoin) names a local member and signs such joins.
 */
import { randomBytes } from "node:crypto";
import { checkAgainstState } from "../core/auth/index.js";
import { MatrixError } from "../core/errors.js";
import { hashAndSignEvent, parsePdu, stateKeyOf, type Pdu, type PduSigner, type StateKey } from "../core/events/index.js";
import type { EventId, RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import type { PartialStateRoom } from "../storage/ports.js";
import { ROOM_VERSIONS, isKnownRoomVersion, roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { memberAuthEvents, outlierEntries, verifyRemoteBatch, type RemoteDeps } from "./remote-event.js";
import type { RoomStorage } from "./room-service.js";

/** The room versions Zion can join (the `ver` it sends). */
export const SUPPORTED_ROOM_VERSIONS: readonly string[] = [...ROOM_VERSIONS.keys()];

/** The FederationClient methods joining a remote room calls. */
export interface RemoteJoinClient {
  makeJoin(destination: ServerName, roomId: RoomId, userId: UserId, supportedVersions: readonly string[]): Promise<{ roomVersion: string; event: JsonObject }>;
  sendJoin(
    destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, rules: RoomVersionRules, q?: { readonly omitMembers?: boolean },
  ): Promise<{ state: Pdu[]; authChain: Pdu[]; membersOmitted: boolean; serversInRoom?: ServerName[] | undefined; event?: JsonObject | undefined }>;
}

/** Step 1's template: the built join without what the joining server computes itself. */
export function joinTemplate(pdu: Pdu): JsonObject {
  const { signatures: _s, hashes: _h, unsigned: _u, event_id: _e, ...rest } = pdu.raw as Record<string, JsonValue>;
  return rest;
}

/** Step 1's version check. */
export function assertVersionSupported(rules: RoomVersionRules, ver: readonly string[]): void {
  if (!ver.includes(rules.id)) {
    throw new MatrixError("M_INCOMPATIBLE_ROOM_VERSION", 400, `the room is version ${rules.id}, which the joining server does not support (ver: ${ver.join(", ") || "none"})`, { room_version: rules.id });
  }
}

/** Step 2's shape checks, before the pipeline. */
export function assertJoinFrom(pdu: Pdu, origin: ServerName, roomId: RoomId, eventId: string, membership = "join"): void {
  if (pdu.eventId !== eventId) throw MatrixError.invalidParam("eventId", `the event's id is ${pdu.eventId}, not ${eventId}`);
  if (pdu.roomId !== roomId) throw MatrixError.invalidParam("room_id", `the event is for ${pdu.roomId}, not ${roomId}`);
  if (pdu.type !== "m.room.member" || pdu.content["membership"] !== membership) throw new MatrixError("M_BAD_JSON", 400, `the event must be an m.room.member event with membership ${membership}`);
  if (pdu.stateKey !== pdu.sender) throw new MatrixError("M_BAD_JSON", 400, "state_key must be the sender");
  if (pdu.sender.slice(pdu.sender.indexOf(":") + 1) !== origin) throw MatrixError.forbidden(`the sender ${pdu.sender} is not a user of ${origin}`);
}

/**
 * Step 4 for any make_join / make_leave / make_knock template: our content (its `membership` included),
 * origin_server_ts, a minted id in room versions 1-2, the content hash and our signature. Throws when the template
 * is not a member event of `userId` in `roomId` or is malformed.
 */
export function eventFromTemplate(
  template: JsonObject, rules: RoomVersionRules, ctx: { readonly serverName: ServerName; readonly signer: PduSigner; readonly nowTs: () => number },
  roomId: RoomId, userId: UserId, content: JsonObject,
): Pdu {
  const event: Record<string, JsonValue> = { ...template, origin_server_ts: ctx.nowTs(), content };
  delete event["signatures"];
  delete event["hashes"];
  delete event["unsigned"];
  if (rules.eventId === "server-minted") event["event_id"] = `$${randomBytes(12).toString("base64url")}:${ctx.serverName}`;
  if (event["type"] !== "m.room.member" || event["state_key"] !== userId || event["sender"] !== userId || event["room_id"] !== roomId) {
    throw new Error(`is not a ${String(content["membership"])} of ${userId} in ${roomId}`);
  }
  try {
    return parsePdu(hashAndSignEvent(event, rules, ctx.signer), rules);
  } catch (e) {
    throw new Error(`is malformed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface JoinRemoteContext {
  readonly serverName: ServerName;
  readonly signer: PduSigner;
  readonly storage: RoomStorage;
  readonly remote: RemoteDeps & { readonly client: RemoteJoinClient };
  readonly nowTs: () => number;
  /** Ask for members omitted (config federation.partial_joins). */
  readonly partialJoins?: boolean;
}

/** Steps 3-6. Returns the join's event id and the persist result's max ordering (for the notifier). */
export async function joinRemoteRoom(
  ctx: JoinRemoteContext, roomId: RoomId, userId: UserId, servers: readonly ServerName[], content: JsonObject,
): Promise<{ eventId: EventId; join: Pdu; maxOrdering: number; partialState: PartialStateRoom | null }> {
  const errors: string[] = [];
  /** Per server that failed, the restricted-join errcode it answered (null: another failure). */
  const restricted: (RestrictedJoinErrcode | null)[] = [];
  const failed = (server: ServerName, e: unknown): void => {
    errors.push(`${server}: ${e instanceof Error ? e.message : String(e)}`);
    restricted.push(restrictedErrcodeOf(e));
  };
  for (const server of servers) {
    // Step 3.
    let tpl: { roomVersion: string; event: JsonObject };
    try {
      tpl = await ctx.remote.client.makeJoin(server, roomId, userId, SUPPORTED_ROOM_VERSIONS);
    } catch (e) {
      if (e instanceof Error && "status" in e && (e as { status?: number }).status === 403) throw MatrixError.forbidden(`${server} refused the join: ${e.message}`);
      failed(server, e);
      continue;
    }
    if (!isKnownRoomVersion(tpl.roomVersion)) {
      errors.push(`${server}: unknown room version ${tpl.roomVersion}`);
      continue;
    }
    const rules = roomVersion(tpl.roomVersion);
    // Step 4.
    let join: Pdu;
    try {
      // A restricted join (v8+): the resident names the member who authorises it, and signs the join in send_join.
      const via = (tpl.event["content"] as JsonObject | undefined)?.["join_authorised_via_users_server"];
      join = eventFromTemplate(tpl.event, rules, ctx, roomId, userId, { ...content, ...(rules.auth.restrictedJoins && typeof via === "string" ? { join_authorised_via_users_server: via } : {}), membership: "join" });
    } catch (e) {
      errors.push(`${server}: the make_join template ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    // Step 5.
    let answer: { state: Pdu[]; authChain: Pdu[]; membersOmitted: boolean; serversInRoom?: ServerName[] | undefined; event?: JsonObject | undefined };
    try {
      answer = await ctx.remote.client.sendJoin(server, roomId, join.eventId, join.raw, rules, ctx.partialJoins ? { omitMembers: true } : {});
    } catch (e) {
      if (e instanceof Error && "status" in e && (e as { status?: number }).status === 403) throw MatrixError.forbidden(`${server} refused the join: ${e.message}`);
      failed(server, e);
      continue;
    }
    // Step 5 for a restricted join: the authorising server's signature, from send_join's `event`, onto our join.
    const authoriser = join.content["join_authorised_via_users_server"];
    if (typeof authoriser === "string" && rules.signatures.authorisingServerSigns) {
      try {
        join = await withAuthorisingSignature(ctx, join, answer.event, authoriser.slice(authoriser.indexOf(":") + 1) as ServerName, rules);
      } catch (e) {
        errors.push(`${server}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
    }
    if (answer.membersOmitted && !ctx.partialJoins) {
      errors.push(`${server}: answered with members omitted, which Zion did not ask for`);
      continue;
    }
    const all = [...answer.authChain, ...answer.state];
    const verdicts = await verifyRemoteBatch(ctx.remote.keys, all.map((p) => ({ raw: p.raw, rules, roomId, eventId: p.eventId })));
    const bad = verdicts.filter((v) => !v.ok);
    const stateIds = new Set(answer.state.map((p) => p.eventId));
    const badState = bad.filter((v) => v.eventId && stateIds.has(v.eventId));
    if (badState.length > 0) {
      errors.push(`${server}: ${badState.length} state events failed verification (${badState[0]!.failures.map((f) => f.reason).join("; ")})`);
      continue;
    }
    const good = verdicts.filter((v) => v.ok && v.pdu).map((v) => v.pdu!);
    const outliers = await outlierEntries({ storage: ctx.storage, remote: ctx.remote, rules, roomId }, good);
    // Step 6.
    const state = new Map<StateKey, EventId>();
    const statePdus = new Map<StateKey, Pdu>();
    const entries = new Map(outliers.map((o) => [o.pdu.eventId, o]));
    for (const p of answer.state) {
      if (p.stateKey === undefined) continue;
      const s = entries.get(p.eventId);
      if (!s || s.rejectionReason) continue;
      state.set(stateKeyOf(p.type, p.stateKey), p.eventId);
      statePdus.set(stateKeyOf(p.type, p.stateKey), s.pdu);
    }
    const create = statePdus.get(stateKeyOf("m.room.create", ""));
    if (!create) {
      errors.push(`${server}: the returned state has no m.room.create event`);
      continue;
    }
    // Members omitted: a membership the rules need beyond the joiner's own (a restricted join's authorising user) is
    // taken from the join's own auth events, fetched when the answer left them out (partial-state.ts step 2).
    let authFallback = new Map<StateKey, Pdu>();
    if (answer.membersOmitted) {
      const lacking = join.authEvents.filter((id) => !entries.has(id));
      const stored = await ctx.storage.events.getEvents(lacking);
      const fetched: Pdu[] = [];
      for (const id of lacking.filter((x) => !stored.has(x))) {
        try {
          fetched.push(await ctx.remote.client.getEvent(server, id, rules));
        } catch { /* an auth event we cannot get: the check below decides without it */ }
      }
      const more = fetched.length > 0 ? await outlierEntries({ storage: ctx.storage, remote: ctx.remote, rules, roomId }, fetched) : [];
      for (const o of more) if (!entries.has(o.pdu.eventId)) { entries.set(o.pdu.eventId, o); outliers.push(o); }
      authFallback = memberAuthEvents(join.authEvents.map((id) => {
        const e = entries.get(id) ?? stored.get(id);
        return e && !e.rejectionReason ? e.pdu : undefined;
      }));
    }
    const verdict = checkAgainstState(join, (k) => statePdus.get(k) ?? authFallback.get(k), rules);
    if (!verdict.allowed) throw MatrixError.forbidden(`the join fails the auth rules against the state ${server} returned: ${verdict.reason} (auth rule ${verdict.rule})`);
    const after = new Map(state);
    after.set(stateKeyOf("m.room.member", userId), join.eventId);
    // Partial state (partial-state.ts step 1): whom to ask and send to meanwhile; the resident counts itself in.
    const partialState: PartialStateRoom | null = answer.membersOmitted
      ? { roomId, joinEventId: join.eventId, serversInRoom: [...new Set([server, ...(answer.serversInRoom ?? [])])].filter((s) => s !== ctx.serverName), joinedTs: ctx.nowTs() }
      : null;
    const result = await ctx.storage.events.persistEvents({
      events: [...outliers, { pdu: join, stateBefore: { state } }],
      rooms: [{ roomId, roomVersion: rules.id, creator: create.sender }],
      state: [{ roomId, replace: true, set: after }],
      receivedTs: ctx.nowTs(),
      ...(partialState ? { partialStateJoin: partialState } : {}),
    });
    return { eventId: join.eventId, join, maxOrdering: result.maxOrdering, partialState };
  }
  // Step 3's end: every server refused a restricted join it could not authorise, or some other failure.
  if (restricted.length > 0 && restricted.length === errors.length && restricted.every((c) => c !== null)) {
    const errcode = restricted.every((c) => c === "M_UNABLE_TO_GRANT_JOIN") ? "M_UNABLE_TO_GRANT_JOIN" : "M_UNABLE_TO_AUTHORISE_JOIN";
    throw new MatrixError(errcode, 400, `No server in the room could authorise the restricted join: ${errors.join("; ")}`);
  }
  throw new MatrixError("M_UNKNOWN", 502, `Failed to join via any server: ${errors.join("; ") || "no server to ask"}`);
}

type RestrictedJoinErrcode = "M_UNABLE_TO_GRANT_JOIN" | "M_UNABLE_TO_AUTHORISE_JOIN";

/** A 400 M_UNABLE_TO_GRANT_JOIN / M_UNABLE_TO_AUTHORISE_JOIN answer of make_join or send_join (FederationError). */
function restrictedErrcodeOf(e: unknown): RestrictedJoinErrcode | null {
  if (!(e instanceof Error) || (e as { status?: number }).status !== 400) return null;
  const code = (e as { errcode?: unknown }).errcode;
  return code === "M_UNABLE_TO_GRANT_JOIN" || code === "M_UNABLE_TO_AUTHORISE_JOIN" ? code : null;
}

/**
 * The resident's copy of a restricted join (send_join's `event`) must carry the authorising server's signature over
 * our join: it is merged into our copy (so nothing else the resident changed is taken) and verified.
 */
async function withAuthorisingSignature(ctx: JoinRemoteContext, join: Pdu, signedCopy: JsonObject | undefined, authoriser: ServerName, rules: RoomVersionRules): Promise<Pdu> {
  if (authoriser === ctx.serverName) return join;
  const sigs = signedCopy?.["signatures"];
  const theirs = typeof sigs === "object" && sigs !== null && !Array.isArray(sigs) ? (sigs as JsonObject)[authoriser] : undefined;
  if (typeof theirs !== "object" || theirs === null || Array.isArray(theirs)) throw new Error(`send_join's event carries no signature of ${authoriser}, the server authorising the restricted join`);
  const merged: JsonObject = { ...join.raw, signatures: { ...(join.raw["signatures"] as JsonObject), [authoriser]: theirs } };
  const [v] = await verifyRemoteBatch(ctx.remote.keys, [{ raw: merged, rules, roomId: join.roomId, eventId: join.eventId }]);
  if (!v?.ok || !v.pdu || v.redacted) throw new Error(`the restricted join's signatures do not verify: ${(v?.failures ?? []).map((f) => f.reason).join("; ")}`);
  return v.pdu;
}
