/**
 * The server's room list of sliding sync (MSC4186, "Lists" and "Activity ordering"): every room the user is joined
 * to, invited to, has knocked on, or was kicked or banned from, plus rooms the user left that this connection sent
 * before; newest activity first (the stream position of the room's newest visible event; for rooms the user is not
 * joined to, of the user's membership event). Forgotten rooms never. Memberships come from the user's memberships, so
 * an invite or knock over federation to a room this server does not hold is listed too (filtered by the stripped
 * state the remote server sent). Each list filters it, counts it and cuts its windows; room subscriptions add rooms
 * the user has any membership in.
 *
 * Rooms are ordered by activity, not by `bump_stamp`: the MSC says so explicitly (a client tracking a window needs
 * every event to bubble its room up) and Synapse sorts the same way; `bump_stamp` is reported per room.
 *
 * Activity, bump stamps and what the filters need of a room's state come from the storage's room-list tables
 * (migration 0023, kept with the events): joined rooms by their current state, other rooms by the snapshot of the
 * state just after the user's membership. A row newer than the request's token (an event committed meanwhile) is
 * replaced by a probe of the events up to the token, so a response never orders by what it does not send.
 */
import { splitStateKey } from "../../core/events/index.js";
import type { EventId, RoomId, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { RoomListFacts, SlidingSyncRoomState, StoredEvent, StreamOrdering } from "../../storage/ports.js";
import type { SlidingStorage } from "./storage.js";
import { combine } from "./room-config.js";
import type { ListFilters, RoomConfig, SlidingRequest } from "./request.js";

export type Membership = "join" | "invite" | "knock" | "leave" | "ban";

export interface Candidate {
  readonly roomId: RoomId;
  readonly membership: Membership;
  /** The user's member event (null for joined rooms, where it is not needed for ordering). */
  readonly memberEvent: StoredEvent | null;
  /** What the room list orders by. */
  readonly activity: StreamOrdering;
  /** A joined room's bump stamp at the request's token, when the room-list table knows it. */
  readonly bumpStamp?: StreamOrdering;
  /**
   * What the filters need of the room's state: current state for a joined room, the state just after the
   * membership otherwise (the snapshot); absent when the storage has none (a room not held, a pre-0023 membership).
   */
  readonly facts?: RoomListFacts;
  /** Left or banned without having been joined just before (a rejected or withdrawn invite, a refused knock). */
  readonly neverJoined?: boolean;
  /** An invite or knock over federation to a room this server does not hold: the stripped state the remote sent. */
  readonly outOfBand?: readonly JsonObject[];
}

export interface ListResult {
  readonly count: number;
  readonly windows: readonly { readonly range: readonly [number, number]; readonly roomIds: readonly RoomId[] }[];
}

export interface RelevantRoom {
  readonly candidate: Candidate;
  readonly config: RoomConfig;
  /** The lists whose windows hold the room. */
  readonly lists: readonly string[];
  readonly subscribed: boolean;
}

export interface RoomListResult {
  readonly lists: ReadonlyMap<string, ListResult>;
  /** Rooms in some window or subscribed to, with their combined config. */
  readonly relevant: ReadonlyMap<RoomId, RelevantRoom>;
  /** Every room of the server's list (what the connection may have sent before). */
  readonly candidates: ReadonlyMap<RoomId, Candidate>;
  readonly dms: ReadonlySet<RoomId>;
}

const MEMBERSHIPS: readonly Membership[] = ["join", "invite", "knock", "leave", "ban"];

/** Room ids of m.direct ({user id: [room id]}) and of invites marked is_direct. */
async function dmRooms(storage: SlidingStorage, userId: UserId, invites: readonly Candidate[]): Promise<Set<RoomId>> {
  const out = new Set<RoomId>();
  const direct = await storage.accountData.get(userId, null, "m.direct");
  for (const rooms of Object.values(direct ?? {})) if (Array.isArray(rooms)) for (const r of rooms) if (typeof r === "string") out.add(r as RoomId);
  for (const c of invites) if ((c.memberEvent?.pdu.content as JsonObject | undefined)?.["is_direct"] === true) out.add(c.roomId);
  return out;
}

interface Member {
  readonly event: StoredEvent;
  /** Where the membership stands in the events stream (an out-of-band member event is an outlier, below 0). */
  readonly ordering: StreamOrdering;
  readonly outOfBand: readonly JsonObject[] | null;
}

/**
 * The user's member events of the rooms, from the user's memberships (not the rooms' state, which a room this server
 * does not hold has none of: an invite over federation, a knock sent to another server, their leaves).
 */
export async function memberEvents(storage: SlidingStorage, userId: UserId, rooms: readonly RoomId[]): Promise<Map<RoomId, Member>> {
  const records = await storage.slidingSync.memberships(userId, rooms);
  const events = await storage.events.getEvents([...records.values()].map((m) => m.eventId));
  const out = new Map<RoomId, Member>();
  for (const [r, m] of records) {
    const e = events.get(m.eventId);
    if (e) out.set(r, { event: e, ordering: e.streamOrdering > 0 ? e.streamOrdering : m.streamOrdering, outOfBand: m.strippedState });
  }
  return out;
}

/** A candidate of a room the user is not joined to, from the user's member event there. */
function memberCandidate(roomId: RoomId, membership: Membership, m: Member, neverJoined: boolean, facts: RoomListFacts | undefined): Candidate {
  return {
    roomId, membership, memberEvent: m.event, activity: m.ordering,
    ...(facts ? { facts } : {}),
    ...(neverJoined ? { neverJoined } : {}),
    ...(m.outOfBand !== null && (membership === "invite" || membership === "knock") ? { outOfBand: m.outOfBand } : {}),
  };
}

/** Whether the user was joined just before this (leave or ban) member event of theirs. */
async function joinedBefore(storage: SlidingStorage, userId: UserId, ev: StoredEvent): Promise<boolean> {
  const prev = await storage.state.getStateEventAt(ev.pdu.eventId, "m.room.member", userId, "before");
  if (!prev) return false;
  const p = (await storage.events.getPdus([prev])).get(prev);
  return (p?.content as JsonObject | undefined)?.["membership"] === "join";
}

/**
 * Candidates of joined rooms from their room-list rows; a room without a row, or whose row moved past `to`, has its
 * activity probed up to `to` instead (and its bump stamp left to the room's response).
 */
async function joinedCandidates(storage: SlidingStorage, rooms: readonly RoomId[], to: StreamOrdering): Promise<Candidate[]> {
  const rows = await storage.slidingSync.roomListRooms(rooms);
  const late = rooms.filter((r) => (rows.get(r)?.activity ?? Infinity) > to);
  const probed = late.length > 0 ? await storage.slidingSync.latestEventPositions(late, to, null) : new Map<RoomId, StreamOrdering>();
  return rooms.map((roomId) => {
    const row = rows.get(roomId);
    const fresh = row !== undefined && row.activity <= to;
    const facts: RoomListFacts | undefined = row ? { roomType: row.roomType, encrypted: row.encrypted, name: row.name, tombstoneSuccessor: row.tombstoneSuccessor } : undefined;
    return {
      roomId, membership: "join", memberEvent: null, activity: fresh ? row.activity : probed.get(roomId) ?? 0,
      ...(fresh ? { bumpStamp: row.bumpStamp } : {}), ...(facts ? { facts } : {}),
    };
  });
}

/** The state facts of the user's membership snapshots that are of these member events (null: none stored). */
async function snapshotFacts(storage: SlidingStorage, userId: UserId, members: ReadonlyMap<RoomId, Member>): Promise<Map<RoomId, RoomListFacts>> {
  const snaps = await storage.slidingSync.roomListMemberships(userId, [...members.keys()]);
  const out = new Map<RoomId, RoomListFacts>();
  for (const [r, s] of snaps) if (s.state && s.eventId === members.get(r)?.event.pdu.eventId) out.set(r, s.state);
  return out;
}

/** The server's room list of the user, newest activity first. */
async function candidatesOf(storage: SlidingStorage, userId: UserId, to: StreamOrdering, sent: ReadonlyMap<RoomId, SlidingSyncRoomState>): Promise<Candidate[]> {
  const byMembership = await Promise.all(MEMBERSHIPS.map((m) => storage.rooms.getRoomsForUser(userId, m)));
  const joined = byMembership[0]!;
  const others = MEMBERSHIPS.slice(1).flatMap((m, i) => byMembership[i + 1]!.map((r) => ({ roomId: r, membership: m })));
  const [out, members] = await Promise.all([joinedCandidates(storage, joined, to), memberEvents(storage, userId, others.map((o) => o.roomId))]);
  const snapshots = members.size > 0 ? await snapshotFacts(storage, userId, members) : new Map<RoomId, RoomListFacts>();
  for (const o of others) {
    const m = members.get(o.roomId);
    if (!m) continue;
    const ev = m.event;
    // Left rooms: kicks always (the user may not know), own leaves only when this connection sent the room.
    if (o.membership === "leave" && ev.pdu.sender === userId && !sent.has(o.roomId)) continue;
    let neverJoined = false;
    if (o.membership === "leave" || o.membership === "ban") {
      if (await storage.roomClient.isForgotten(userId, o.roomId)) continue;
      neverJoined = !(await joinedBefore(storage, userId, ev));
      // Banned from a room never joined: not listed (the MSC), unless this connection showed the invite.
      if (o.membership === "ban" && neverJoined && !sent.has(o.roomId)) continue;
    }
    out.push(memberCandidate(o.roomId, o.membership, m, neverJoined, snapshots.get(o.roomId)));
  }
  return out.sort((a, b) => b.activity - a.activity || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
}

/** What the filters of the request's lists need, read once per request and only when some list uses them. */
class FilterFacts {
  private encrypted?: Promise<ReadonlySet<RoomId>>;
  private types?: Promise<ReadonlyMap<RoomId, string | null>>;
  private readonly spaces = new Map<RoomId, Promise<ReadonlySet<RoomId>>>();
  private tags?: Promise<ReadonlyMap<RoomId, ReadonlySet<string>>>;

  constructor(private readonly storage: SlidingStorage, private readonly userId: UserId, private readonly rooms: readonly RoomId[], private readonly joined: ReadonlySet<RoomId>) {}

  /** Whether the room was encrypted just after the user's member event (for a room left or banned from). */
  async encryptedAfter(memberEvent: StoredEvent): Promise<boolean> {
    return (await this.storage.state.getStateEventAt(memberEvent.pdu.eventId, "m.room.encryption", "", "after")) !== null;
  }

  isEncrypted(): Promise<ReadonlySet<RoomId>> {
    return (this.encrypted ??= this.storage.slidingSync.currentStateEventIds(this.rooms, "m.room.encryption", "").then((m) => new Set(m.keys())));
  }

  roomTypes(): Promise<ReadonlyMap<RoomId, string | null>> {
    return (this.types ??= (async () => {
      const ids = await this.storage.slidingSync.currentStateEventIds(this.rooms, "m.room.create", "");
      const pdus = await this.storage.events.getPdus([...ids.values()]);
      const out = new Map<RoomId, string | null>();
      for (const [r, id] of ids) {
        const t = (pdus.get(id)?.content as JsonObject | undefined)?.["type"];
        out.set(r, typeof t === "string" ? t : null);
      }
      return out;
    })());
  }

  /** The m.space.child state keys of a space the user is joined to (children with a `via`); nothing otherwise. */
  children(space: RoomId): Promise<ReadonlySet<RoomId>> {
    let p = this.spaces.get(space);
    if (!p) {
      p = (async () => {
        if (!this.joined.has(space)) return new Set<RoomId>();
        const state = await this.storage.rooms.getCurrentState(space);
        const ids: EventId[] = [];
        for (const [k, id] of state) if (splitStateKey(k).type === "m.space.child") ids.push(id);
        const pdus = await this.storage.events.getPdus(ids);
        const out = new Set<RoomId>();
        for (const p of pdus.values()) {
          const via = (p.content as JsonObject)["via"];
          if (p.type === "m.space.child" && p.stateKey !== undefined && Array.isArray(via) && via.length > 0) out.add(p.stateKey as RoomId);
        }
        return out;
      })();
      this.spaces.set(space, p);
    }
    return p;
  }

  roomTags(): Promise<ReadonlyMap<RoomId, ReadonlySet<string>>> {
    return (this.tags ??= (async () => {
      const out = new Map<RoomId, Set<string>>();
      for (const r of this.rooms) {
        const c = await this.storage.accountData.get(this.userId, r, "m.tag");
        const tags = c?.["tags"];
        if (tags && typeof tags === "object" && !Array.isArray(tags)) out.set(r, new Set(Object.keys(tags)));
      }
      return out;
    })());
  }
}

/** An out-of-band invite's or knock's stripped state entry (type, ""), if the remote server sent one. */
const strippedEntry = (c: Candidate, type: string): JsonObject | undefined => c.outOfBand?.find((e) => e["type"] === type && e["state_key"] === "");

async function applyFilters(list: readonly Candidate[], f: ListFilters, facts: FilterFacts, dms: ReadonlySet<RoomId>): Promise<Candidate[]> {
  let out = [...list];
  if (f.isDm !== undefined) out = out.filter((c) => dms.has(c.roomId) === f.isDm);
  if (f.isInvite !== undefined) out = out.filter((c) => (c.membership === "invite") === f.isInvite);
  // A room this server does not hold (an invite or knock over federation) is judged by its stripped state, as Synapse does.
  if (f.isEncrypted !== undefined) {
    // The room-list facts where the storage has them (a room not joined: the snapshot of the state just after the
    // membership, so that a room encrypted after the user left does not say so); otherwise read from the state.
    const unknown = out.filter((c) => !c.outOfBand && !c.facts);
    const enc = unknown.length > 0 ? await facts.isEncrypted() : new Set<RoomId>();
    const left = new Map<RoomId, boolean>();
    for (const c of unknown) {
      if ((c.membership !== "leave" && c.membership !== "ban") || !c.memberEvent || c.memberEvent.outlier || !enc.has(c.roomId)) continue;
      left.set(c.roomId, await facts.encryptedAfter(c.memberEvent));
    }
    out = out.filter((c) => (c.outOfBand ? strippedEntry(c, "m.room.encryption") !== undefined : c.facts ? c.facts.encrypted : left.get(c.roomId) ?? enc.has(c.roomId)) === f.isEncrypted);
  }
  if (f.roomTypes !== undefined || f.notRoomTypes !== undefined) {
    const types = out.some((c) => !c.outOfBand && !c.facts) ? await facts.roomTypes() : new Map<RoomId, string | null>();
    const typeOf = (c: Candidate): string | null => {
      if (!c.outOfBand) return c.facts ? c.facts.roomType : types.get(c.roomId) ?? null;
      const t = (strippedEntry(c, "m.room.create")?.["content"] as JsonObject | undefined)?.["type"];
      return typeof t === "string" ? t : null;
    };
    if (f.roomTypes !== undefined) out = out.filter((c) => f.roomTypes!.includes(typeOf(c)));
    if (f.notRoomTypes !== undefined) out = out.filter((c) => !f.notRoomTypes!.includes(typeOf(c)));
  }
  if (f.spaces !== undefined) {
    const children = new Set<RoomId>();
    for (const s of f.spaces) for (const c of await facts.children(s)) children.add(c);
    out = out.filter((c) => children.has(c.roomId));
  }
  if (f.tags !== undefined || f.notTags !== undefined) {
    const tags = await facts.roomTags();
    const has = (r: RoomId, l: readonly string[]) => l.some((t) => tags.get(r)?.has(t) ?? false);
    if (f.tags !== undefined) out = out.filter((c) => has(c.roomId, f.tags!));
    if (f.notTags !== undefined) out = out.filter((c) => !has(c.roomId, f.notTags!));
  }
  return out;
}

/** Lists, their windows and counts, the relevant rooms with their combined configs. */
export async function computeRoomList(storage: SlidingStorage, userId: UserId, req: SlidingRequest, to: StreamOrdering, sent: ReadonlyMap<RoomId, SlidingSyncRoomState>): Promise<RoomListResult> {
  const all = await candidatesOf(storage, userId, to, sent);
  const candidates = new Map(all.map((c) => [c.roomId, c]));
  const dms = await dmRooms(storage, userId, all.filter((c) => c.membership === "invite"));
  const facts = new FilterFacts(storage, userId, all.map((c) => c.roomId), new Set(all.filter((c) => c.membership === "join").map((c) => c.roomId)));
  const relevant = new Map<RoomId, { candidate: Candidate; config: RoomConfig; lists: string[]; subscribed: boolean }>();
  const add = (c: Candidate, config: RoomConfig, list: string | null) => {
    const had = relevant.get(c.roomId);
    if (!had) relevant.set(c.roomId, { candidate: c, config, lists: list === null ? [] : [list], subscribed: list === null });
    else {
      had.config = combine(had.config, config);
      if (list === null) had.subscribed = true;
      else if (!had.lists.includes(list)) had.lists.push(list);
    }
  };
  const lists = new Map<string, ListResult>();
  for (const [name, l] of req.lists) {
    const filtered = await applyFilters(all, l.filters, facts, dms);
    const windows = (l.ranges ?? [[0, Math.max(0, filtered.length - 1)] as const]).map((range) => {
      const rooms = filtered.slice(range[0], range[1] + 1);
      for (const c of rooms) add(c, l.config, name);
      return { range, roomIds: rooms.map((c) => c.roomId) };
    });
    lists.set(name, { count: filtered.length, windows: l.ranges ? windows : windows.filter((w) => w.roomIds.length > 0) });
  }
  // Subscriptions: any room the user has a membership in (a left one too); others are ignored, as the MSC says.
  const unknown = [...req.subscriptions.keys()].filter((r) => !candidates.has(r));
  const extra = unknown.length > 0 ? await memberEvents(storage, userId, unknown) : new Map<RoomId, Member>();
  for (const [roomId, config] of req.subscriptions) {
    let c = candidates.get(roomId);
    if (!c) {
      const member = extra.get(roomId);
      const m = (member?.event.pdu.content as JsonObject | undefined)?.["membership"];
      if (!member || typeof m !== "string" || !MEMBERSHIPS.includes(m as Membership)) continue;
      if (m === "join") c = (await joinedCandidates(storage, [roomId], to))[0]!;
      else c = memberCandidate(roomId, m as Membership, member, (m === "leave" || m === "ban") && !(await joinedBefore(storage, userId, member.event)), (await snapshotFacts(storage, userId, new Map([[roomId, member]]))).get(roomId));
    }
    add(c, config, null);
  }
  return { lists, relevant, candidates, dms };
}
