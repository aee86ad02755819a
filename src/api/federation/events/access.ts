/**
 * Who may read what of a room over federation (the read endpoints of events/ and state/).
 *
 * 1. The room must be known (404 M_NOT_FOUND), and so must the event asked about, in that room.
 * 2. The room's current m.room.server_acl must allow the requesting server (403 M_FORBIDDEN, core/acl), and it
 *    must have a user joined to the room now, or the room must be world_readable now; otherwise 403 M_FORBIDDEN
 *    (`assertMayRead`).
 * 3. Each event is then judged on the state before it (core/visibility serverMaySeeEvent: the
 *    m.room.history_visibility then, and the memberships then of the server's users). A server with no joined user
 *    (admitted by step 2 through world_readable) sees only events that were world_readable at the time.
 * 4. An event the server may not see is redacted (the endpoint's documentation says where it is omitted instead),
 *    so the DAG it receives stays connected; its `unsigned` is never sent.
 * State is read through the state groups, so a page of events sharing a state is read once.
 */
import { MatrixError } from "../../../core/errors.js";
import { redactEvent } from "../../../core/events/index.js";
import { splitStateKey, stateKeyOf, type Pdu, type StateMap } from "../../../core/events/pdu.js";
import { parseEventId, parseRoomId, type EventId, type RoomId, type ServerName, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { serverAllowedByAcl } from "../../../core/acl/index.js";
import { historyVisibilityOf, membershipOf, serverMaySeeEvent, type Membership } from "../../../core/visibility/index.js";
import type { EventStore, RoomRecord, RoomStore, StateStore } from "../../../storage/ports.js";

/** The storage a read endpoint needs (a slice of Storage). */
export interface RoomReadStores {
  readonly events: Pick<EventStore, "getEvents" | "getPdus" | "getAuthChainIds" | "getEventNearTimestamp">;
  readonly state: Pick<StateStore, "getEventStateGroups" | "getStateGroups" | "getStateAtEvent">;
  readonly rooms: Pick<RoomStore, "getRoom" | "getCurrentState">;
}

export interface RoomReadDeps {
  readonly serverName: ServerName;
  readonly clock: { now(): number };
  readonly roomRead: RoomReadStores;
}

const HISTORY_KEY = stateKeyOf("m.room.history_visibility", "");
const ACL_KEY = stateKeyOf("m.room.server_acl", "");

/** Whether a state key is a member event of one of `server`'s users. */
function isMemberOf(k: string, server: ServerName): boolean {
  if (!k.startsWith("m.room.member\u0000@")) return false;
  const user = k.slice("m.room.member\u0000".length);
  return user.slice(user.indexOf(":") + 1) === server;
}

/** Step 1: the room record, or 404. */
export async function requireRoom(stores: RoomReadStores, roomId: RoomId): Promise<RoomRecord> {
  const room = await stores.rooms.getRoom(roomId);
  if (!room) throw MatrixError.notFound(`unknown room ${roomId}`);
  return room;
}

/** Step 1 for an event: stored, and in `roomId`, or 404. */
export async function requireEventIn(stores: RoomReadStores, roomId: RoomId, eventId: EventId): Promise<Pdu> {
  const pdu = (await stores.events.getPdus([eventId])).get(eventId);
  if (!pdu || pdu.roomId !== roomId) throw MatrixError.notFound(`unknown event ${eventId} in ${roomId}`);
  return pdu;
}

export interface RoomAccess {
  /** The server has a user whose membership in the current state is join. */
  readonly joinedNow: boolean;
  /** The room's current m.room.history_visibility is world_readable. */
  readonly worldReadableNow: boolean;
  /** The room's current m.room.server_acl verdict for the server. */
  readonly acl: { readonly allowed: boolean; readonly reason: string };
}

/** Step 2: how the server stands in the room now (no error). */
export async function roomAccess(stores: RoomReadStores, roomId: RoomId, server: ServerName): Promise<RoomAccess> {
  const current = await stores.rooms.getCurrentState(roomId);
  const ids: EventId[] = [];
  const hv = current.get(HISTORY_KEY);
  if (hv) ids.push(hv);
  const aclId = current.get(ACL_KEY);
  if (aclId) ids.push(aclId);
  for (const [k, id] of current) if (isMemberOf(k, server)) ids.push(id);
  const pdus = ids.length ? await stores.events.getPdus(ids) : new Map<EventId, Pdu>();
  let joinedNow = false;
  for (const [k, id] of current) {
    if (isMemberOf(k, server) && membershipOf(pdus.get(id)?.content) === "join") joinedNow = true;
  }
  const worldReadableNow = hv !== undefined && historyVisibilityOf(pdus.get(hv)?.content) === "world_readable";
  const acl = serverAllowedByAcl(aclId ? pdus.get(aclId)?.content ?? {} : undefined, server);
  return { joinedNow, worldReadableNow, acl };
}

/** Step 2: refuses a server with no joined user in a room that is not world_readable. */
export async function assertMayRead(stores: RoomReadStores, roomId: RoomId, server: ServerName): Promise<RoomAccess> {
  const access = await roomAccess(stores, roomId, server);
  if (!access.acl.allowed) throw MatrixError.forbidden(`${server} is denied by the server ACL of ${roomId}: ${access.acl.reason}`);
  if (!access.joinedNow && !access.worldReadableNow) {
    throw MatrixError.forbidden(`${server} has no user in ${roomId} and its history is not world_readable`);
  }
  return access;
}

/** Step 3: which of `pdus` the server may see (by event id). Events without a stored state (outliers) are not visible. */
export async function visibleTo(stores: RoomReadStores, server: ServerName, access: RoomAccess, pdus: readonly Pdu[]): Promise<ReadonlySet<EventId>> {
  const groups = new Map<EventId, number>();
  for (const p of pdus) {
    const g = await stores.state.getEventStateGroups(p.eventId);
    if (g) groups.set(p.eventId, g.before);
  }
  const states = await stores.state.getStateGroups([...new Set(groups.values())]);
  const needed = new Set<EventId>();
  const relevant = new Map<number, { hv: EventId | undefined; members: [string, EventId][] }>();
  for (const [g, state] of states) {
    const members: [string, EventId][] = [];
    for (const [k, id] of state) if (isMemberOf(k, server)) members.push([splitStateKey(k).stateKey, id]);
    const hv = state.get(HISTORY_KEY);
    relevant.set(g, { hv, members });
    if (hv) needed.add(hv);
    for (const [, id] of members) needed.add(id);
  }
  const lookups = needed.size ? await stores.events.getPdus([...needed]) : new Map<EventId, Pdu>();
  const out = new Set<EventId>();
  for (const p of pdus) {
    const g = groups.get(p.eventId);
    const r = g === undefined ? undefined : relevant.get(g);
    if (!r) continue;
    const historyVisibility = historyVisibilityOf(r.hv ? lookups.get(r.hv)?.content : undefined);
    const membershipsAtEvent = new Map<UserId, Membership>();
    for (const [user, id] of r.members) {
      const m = membershipOf(lookups.get(id)?.content);
      if (m) membershipsAtEvent.set(user as UserId, m);
    }
    const event = { type: p.type, content: p.content, ...(p.stateKey !== undefined ? { state_key: p.stateKey } : {}) };
    const verdict = serverMaySeeEvent({ server, event, historyVisibility, membershipsAtEvent });
    if (!verdict.visible) continue;
    // A server admitted only because the room is world_readable now sees what was world_readable then.
    if (!access.joinedNow && historyVisibility !== "world_readable" && !(p.type === "m.room.history_visibility" && historyVisibilityOf(p.content) === "world_readable")) continue;
    out.add(p.eventId);
  }
  return out;
}

/** The wire form of a stored PDU: its raw JSON in the room version's format, without `unsigned`. */
export function wirePdu(p: Pdu): JsonObject {
  if (!Object.prototype.hasOwnProperty.call(p.raw, "unsigned")) return p.raw;
  const { unsigned: _dropped, ...rest } = p.raw;
  return rest;
}

/** Step 4: the PDUs in wire form, redacted where the server may not see them. */
export async function wirePdusFor(stores: RoomReadStores, server: ServerName, access: RoomAccess, pdus: readonly Pdu[]): Promise<JsonObject[]> {
  const visible = await visibleTo(stores, server, access, pdus);
  return pdus.map((p) => (visible.has(p.eventId) ? wirePdu(p) : redactEvent(wirePdu(p), p.roomVersion)));
}

/** The state ids of a map, and their auth chain from the auth-chain index (the state's own events excluded). */
export async function stateAndAuthChain(stores: RoomReadStores, state: StateMap): Promise<{ stateIds: EventId[]; authChainIds: EventId[] }> {
  const stateIds = [...new Set(state.values())].sort();
  const inState = new Set(stateIds);
  const chain = await stores.events.getAuthChainIds(stateIds);
  return { stateIds, authChainIds: [...chain].filter((id) => !inState.has(id)).sort() };
}

/** An event id from a path, query or body parameter (400 M_INVALID_PARAM naming it). */
export function eventIdParam(raw: string, name: string): EventId {
  return parseEventId(raw, name);
}

/** A room id from a path parameter (400 M_INVALID_PARAM naming it). */
export function roomIdParam(raw: string, name = "roomId"): RoomId {
  return parseRoomId(raw, name);
}
