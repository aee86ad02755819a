/**
 * The rooms part of /sync (https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync): which rooms go
 * in the join, invite, leave and knock sections between two event-stream positions, and what each holds.
 *
 * - join: the timeline (newest `limit` events after `since`, `limited` + `prev_batch` when more were skipped), the
 *   state at the start of the timeline (all of it on an initial sync, `full_state`, or a room joined since `since`;
 *   otherwise the state changes between `since` and the timeline's start), or with `use_state_after` the state at
 *   the end of the timeline as `state_after`; lazy-loaded members; `summary`; typing; per-room account data.
 * - invite / knock: the stripped state the invitee may see (create, join rules, name, avatar, alias, encryption,
 *   and the user's own member event); for an invite received over federation (a room this server does not hold),
 *   the stripped state the inviting server sent, stored beside the out-of-band invite.
 * - an out-of-band leave (a rejected remote invite) shows the leave event as the left room's timeline.
 * - leave: the timeline up to the leave, for rooms left (or banned from) after `since`, or on an initial sync when
 *   the filter's `include_leave` is set; forgotten rooms never.
 * - timeline events, of every room at once: redacted ones in their redacted form, the syncing device's own sends
 *   with `unsigned.transaction_id`, state events with `unsigned.replaces_state` / `prev_content` / `prev_sender`
 *   (RoomReads.clientEvents).
 */
import type { RoomFilter } from "../core/filters/index.js";
import { effectiveLimit, lazyLoading, roomEventFilterMatches, roomFilterIncludes } from "../core/filters/index.js";
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import { clientEvent, type RoomReads } from "../rooms/index.js";
import { Timelines } from "./timelines.js";
import { splitStateKey, stateKeyOf, type Pdu, type StateKey } from "../core/events/index.js";
import { UnreadCache, unreadCounts } from "./unread.js";
import { PositionMemo } from "./position-memo.js";
import { LazyMembersSent, type DeviceMembersSent } from "./lazy-members.js";
import { roomSummary } from "./room-summary.js";
import { strippedState } from "./stripped-state.js";
import type { AccountDataEntry, StoredEvent, Storage, StreamOrdering } from "../storage/ports.js";

export type SyncStorage = Pick<Storage, "events" | "state" | "rooms" | "roomClient" | "accountData" | "toDevice" | "e2ee" | "filters" | "users" | "receipts" | "presence" | "pushRules" | "pushActions">;

/** The timeline limit when the filter gives none (Synapse's default), and the most a filter may ask for. */
export const TIMELINE_LIMIT = { default: 10, max: 100 } as const;
/** How many membership changes one sync reads. */
const MAX_MEMBERSHIP_CHANGES = 10_000;
/** Further reads a filtered timeline makes at most to fill its limit (Synapse tries 5 times too). */
const FILL_READS = 5;

export interface RoomsRequest {
  readonly userId: UserId;
  /**
   * The syncing device: its own sends carry unsigned.transaction_id in the timelines, and lazy-loaded member events
   * it was already sent are not sent again (lazy-members.ts).
   */
  readonly deviceId?: string;
  /** null: an initial sync. */
  readonly since: StreamOrdering | null;
  readonly to: StreamOrdering;
  readonly filter: RoomFilter;
  readonly fullState: boolean;
  /** Which key the state at the end of the timeline goes under, or null for the classic `state`. */
  readonly stateAfterKey: "state_after" | "org.matrix.msc4222.state_after" | null;
  readonly nowTs: number;
  /** Ephemeral events per room (m.typing, m.receipt) changed after the token. */
  readonly ephemeral: ReadonlyMap<RoomId, readonly JsonObject[]>;
  /** The receipts stream's position now (unread counts cached before it stay valid while it has not moved). */
  readonly receiptsPosition: number;
  /** Per-room account data changed after the token (all of it on an initial sync). */
  readonly roomAccountData: readonly AccountDataEntry[];
  /** The rooms the user is joined to, when the caller has read them already. */
  readonly joined?: readonly RoomId[];
}

export interface RoomsSections {
  readonly join: Record<string, JsonObject>;
  readonly invite: Record<string, JsonObject>;
  readonly leave: Record<string, JsonObject>;
  readonly knock: Record<string, JsonObject>;
  /** The rooms whose changes should wake this user's next wait: joined, invited, knocked. */
  readonly following: ReadonlySet<RoomId>;
  /** Nothing in any section. */
  readonly empty: boolean;
}

/**
 * The timeline's senders whose member event is not earlier in the timeline: a classic client learns the others'
 * from the timeline itself before their events (as Synapse's lazy loading).
 */
function sendersBeforeTheirMember(timeline: readonly Pdu[]): Set<string> {
  const inTimeline = new Set<string>();
  const out = new Set<string>();
  for (const p of timeline) {
    if (!inTimeline.has(p.sender)) out.add(p.sender);
    if (p.type === "m.room.member" && p.stateKey !== undefined) inTimeline.add(p.stateKey);
  }
  return out;
}

type Section = "join" | "invite" | "leave" | "knock";
const sectionOf = (m: string | null): Section | null =>
  m === "join" ? "join" : m === "invite" ? "invite" : m === "knock" ? "knock" : m === "leave" || m === "ban" ? "leave" : null;

export class RoomsProvider {
  private readonly unread = new UnreadCache();
  /** Room reads shared by the requests computing up to the same position (position-memo.ts). */
  private readonly shared = new PositionMemo();
  /** The member events each device was sent while lazy-loading members (lazy-members.ts). */
  private readonly membersSent = new LazyMembersSent();

  constructor(private readonly storage: SyncStorage, private readonly reads: RoomReads) {}

  /**
   * Of `rooms`, whose last membership change in the window is a join, those the user was not joined to at `since`:
   * the window holds a change that is not a join (a leave and a rejoin), or the membership before its first change
   * is not a join. A join after a join is a profile change (display name, avatar) and stays an incremental room,
   * as in Synapse; without this, each rename sent the room's whole state and timeline again. One batched read of the
   * member entries before the first changes, and of those events, only for rooms whose window holds joins alone.
   */
  private async joinedSince(userId: UserId, rooms: readonly RoomId[], changed: ReadonlyMap<RoomId, { firstEventId: EventId | null; onlyJoins: boolean }>): Promise<Set<RoomId>> {
    const out = new Set<RoomId>();
    const check = new Map<EventId, RoomId>();
    for (const r of rooms) {
      const c = changed.get(r)!;
      if (!c.onlyJoins || c.firstEventId === null) out.add(r);
      else check.set(c.firstEventId, r);
    }
    if (check.size === 0) return out;
    const key = stateKeyOf("m.room.member", userId);
    const before = await this.storage.state.getStateEntriesAt([...check.keys()], [key], "before");
    const prevIds = [...before.values()].map((m) => m.get(key)).filter((x): x is EventId => x !== undefined);
    const prev = prevIds.length > 0 ? await this.storage.events.getPdus(prevIds) : new Map<EventId, Pdu>();
    for (const [first, r] of check) {
      const prevId = before.get(first)?.get(key);
      // No state before the first change (an event without one), or no member event in it: a new join.
      if (prevId === undefined || prev.get(prevId)?.content["membership"] !== "join") out.add(r);
    }
    return out;
  }

  /** The newest `limit` visible events of each room in (from, to], newest first; shared per room. */
  private recent(rooms: readonly RoomId[], from: StreamOrdering, to: StreamOrdering, limit: number): Promise<Map<RoomId, readonly StoredEvent[]>> {
    const none: readonly StoredEvent[] = [];
    return this.shared.many(to, rooms, (r) => `recent|${r}|${from}|${limit}`, (missing) => this.storage.events.getRoomsRecentEvents(missing, { from, to, limit }), none);
  }

  async sections(req: RoomsRequest): Promise<RoomsSections> {
    const { storage } = this;
    const [joined, invited, knocked] = await Promise.all(["join", "invite", "knock"].map((m) => (m === "join" && req.joined ? req.joined : storage.rooms.getRoomsForUser(req.userId, m))));
    const following = new Set<RoomId>([...joined!, ...invited!, ...knocked!]);
    const out: { join: Record<string, JsonObject>; invite: Record<string, JsonObject>; leave: Record<string, JsonObject>; knock: Record<string, JsonObject> } = { join: {}, invite: {}, leave: {}, knock: {} };
    const timelines = new Timelines();

    // Which rooms changed membership in (since, to] and how (the last change wins); `firstEventId` and `onlyJoins`
    // tell a new join from a join after a join (a profile change), which is no new join (joinedSince).
    const changed = new Map<RoomId, { membership: string | null; eventId: EventId | null; ordering: StreamOrdering; firstEventId: EventId | null; onlyJoins: boolean }>();
    if (req.since !== null) {
      for (const c of await storage.rooms.getMembershipChanges(req.userId, { from: req.since, to: req.to, limit: MAX_MEMBERSHIP_CHANGES })) {
        const before = changed.get(c.roomId);
        changed.set(c.roomId, {
          membership: c.membership, eventId: c.eventId, ordering: c.streamOrdering,
          firstEventId: before ? before.firstEventId : c.eventId, onlyJoins: (before?.onlyJoins ?? true) && c.membership === "join",
        });
      }
    }
    const included = (r: RoomId) => roomFilterIncludes(req.filter, r);

    // join. Rooms joined with members omitted (rooms/partial-state.ts), as Synapse: while partial, left out for a
    // client that does not lazy-load members (it would take the partial state for the whole one), and shown without
    // member counts to one that does; once complete, a newly joined room for the first, a new summary for the second.
    const lazy = lazyLoading(req.filter.state).lazy;
    const partial = new Set((await storage.rooms.listPartialStateRooms()).map((r) => r.roomId));
    const completed = req.since === null ? new Set<RoomId>() : new Set(await storage.rooms.getPartialStateCompletions({ from: req.since, to: req.to, limit: MAX_MEMBERSHIP_CHANGES }));
    const joinedRooms = joined!.filter(included).filter((r) => lazy || !partial.has(r));
    const joinedInWindow = await this.joinedSince(req.userId, joinedRooms.filter((r) => changed.get(r)?.membership === "join"), changed);
    const newlyJoined = new Set(joinedRooms.filter((r) => joinedInWindow.has(r) || (!lazy && completed.has(r))));
    const limit = effectiveLimit(req.filter.timeline, TIMELINE_LIMIT);
    const sent = req.deviceId === undefined ? null : this.membersSent.forSync(req.userId, req.deviceId, req.since);
    const incrementalRooms = req.since === null || req.fullState ? [] : joinedRooms.filter((r) => !newlyJoined.has(r));
    const fromStart = req.since === null || req.fullState ? joinedRooms : [...newlyJoined];
    const [recentInc, recentStart] = await Promise.all([
      incrementalRooms.length ? this.recent(incrementalRooms, req.since!, req.to, limit + 1) : new Map<RoomId, readonly StoredEvent[]>(),
      fromStart.length ? this.recent(fromStart, 0, req.to, limit + 1) : new Map<RoomId, readonly StoredEvent[]>(),
    ]);
    const accountDataByRoom = new Map<string, JsonObject[]>();
    for (const e of req.roomAccountData) {
      if (e.roomId === null || !roomEventFilterMatches(req.filter.account_data, { type: e.type, room_id: e.roomId })) continue;
      let l = accountDataByRoom.get(e.roomId);
      if (!l) accountDataByRoom.set(e.roomId, (l = []));
      l.push({ type: e.type, content: e.content });
    }
    for (const roomId of joinedRooms) {
      const initial = req.since === null || req.fullState || newlyJoined.has(roomId);
      const recent = (initial ? recentStart : recentInc).get(roomId) ?? [];
      const ephemeral = req.ephemeral.get(roomId);
      const accountData = accountDataByRoom.get(roomId);
      const summaryDue = completed.has(roomId);
      if (!initial && recent.length === 0 && !ephemeral && !accountData && !summaryDue) continue;
      const room = await this.joinedRoom(req, timelines, roomId, recent, limit, initial, ephemeral, accountData, { partial: partial.has(roomId), summaryDue }, sent);
      if (room) out.join[roomId] = room;
    }

    // invite and knock: rooms entered since `since` (all of them on an initial sync)
    for (const [list, section] of [[invited!, "invite"], [knocked!, "knock"]] as const) {
      for (const roomId of list.filter(included)) {
        if (req.since !== null && !changed.has(roomId)) continue;
        const stateKey = section === "invite" ? "invite_state" : "knock_state";
        out[section][roomId] = { [stateKey]: { events: await strippedState(storage, roomId, req.userId) } };
      }
    }

    // leave
    const leaves: { roomId: RoomId; eventId: EventId; ordering: StreamOrdering }[] = [];
    if (req.since !== null) {
      for (const [roomId, c] of changed) if (sectionOf(c.membership) === "leave" && c.eventId && included(roomId)) leaves.push({ roomId, eventId: c.eventId, ordering: c.ordering });
    } else if (req.filter.include_leave) {
      for (const m of ["leave", "ban"]) {
        for (const roomId of (await storage.rooms.getRoomsForUser(req.userId, m)).filter(included)) {
          const id = await storage.rooms.getCurrentStateEventId(roomId, "m.room.member", req.userId);
          const pos = id ? await storage.events.getRoomPosition(id) : null;
          if (id && pos) leaves.push({ roomId, eventId: id, ordering: pos.stream });
        }
      }
    }
    for (const l of leaves) {
      if (await storage.roomClient.isForgotten(req.userId, l.roomId)) continue;
      out.leave[l.roomId] = await this.leftRoom(req, timelines, l.roomId, l.ordering, limit, l.eventId);
    }
    await timelines.fill(this.reads, { userId: req.userId, ...(req.deviceId !== undefined ? { deviceId: req.deviceId } : {}) }, req.nowTs);

    const empty = Object.keys(out.join).length + Object.keys(out.invite).length + Object.keys(out.leave).length + Object.keys(out.knock).length === 0;
    return { ...out, following, empty };
  }

  /**
   * A joined room's entry, or null on an incremental sync when nothing is left for it once filtered (the events
   * after `since` were all left out by the filter or history visibility, as Synapse leaves such a room out): a
   * long poll keeps waiting rather than answering with an empty room.
   */
  private async joinedRoom(
    req: RoomsRequest,
    timelines: Timelines,
    roomId: RoomId,
    recentNewestFirst: readonly StoredEvent[],
    limit: number,
    initial: boolean,
    ephemeral: readonly JsonObject[] | undefined,
    accountData: JsonObject[] | undefined,
    partialState: { readonly partial: boolean; readonly summaryDue: boolean } = { partial: false, summaryDue: false },
    sent: DeviceMembersSent | null = null,
  ): Promise<JsonObject | null> {
    const from = initial ? 0 : req.since!;
    const { timeline, limited, prevBatch, first, last, dropped } = await this.timeline(req, roomId, recentNewestFirst, from, limit, "join");
    // The summary goes with initial rooms and when the membership changed (in the timeline, or in the state
    // changes a gap leaves out); it is computed before the state, whose lazy-loaded members include its heroes.
    const summaryOf = async (memberChanged: boolean): Promise<JsonObject | null> =>
      initial || partialState.summaryDue || memberChanged || timeline.some((p) => p.type === "m.room.member")
        ? partialState.partial ? {} : await roomSummary(this.storage, this.shared, req.to, roomId, req.userId) // counts unknown while partial
        : null;
    const { events: stateEvents, summary } = await this.state(req, roomId, timeline, { first, last, initial, limited: limited || dropped }, sent, summaryOf);
    const ephemeralEvents = (ephemeral ?? []).filter((e) => roomEventFilterMatches(req.filter.ephemeral, { type: String(e["type"]), room_id: roomId }));
    if (!initial && timeline.length === 0 && stateEvents.length === 0 && ephemeralEvents.length === 0 && !accountData?.length && !summary) return null;
    const room: Record<string, JsonValue> = {
      timeline: { events: timelines.add(timeline), limited, ...(prevBatch ? { prev_batch: prevBatch } : {}) },
    };
    // With state after, `state` "MUST be omitted" (the spec's use_state_after; Synapse omits it too).
    room[req.stateAfterKey ?? "state"] = { events: stateEvents };
    room["ephemeral"] = { events: ephemeralEvents };
    room["account_data"] = { events: accountData ?? [] };
    if (summary) room["summary"] = summary;
    const perThread = req.filter.timeline.unread_thread_notifications;
    const unread = await unreadCounts(this.storage, roomId, req.userId, req.to, perThread, { cache: this.unread, receipts: req.receiptsPosition });
    room["unread_notifications"] = unread.room;
    if (perThread) room["unread_thread_notifications"] = unread.threads;
    return room;
  }

  private event(p: Pdu, nowTs: number): JsonObject {
    return clientEvent(p, nowTs);
  }

  /**
   * The visible, filtered timeline (oldest first), whether matching events were left out (`limited`), whether the
   * filter left out events among those it covers (`dropped`), and the token before it. A timeline filter that
   * leaves events out fills the limit from older events in (from, ...], a few reads at most (as Synapse), so
   * that newer events it does not want do not crowd out older ones it does.
   */
  private async timeline(req: RoomsRequest, roomId: RoomId, recentNewestFirst: readonly StoredEvent[], from: StreamOrdering, limit: number, membership: "join" | null): Promise<{ timeline: Pdu[]; limited: boolean; dropped: boolean; prevBatch: string | null; first: StoredEvent | null; last: StoredEvent | null }> {
    const f = req.filter.timeline;
    const matches = (e: StoredEvent) => roomEventFilterMatches(f, { type: e.pdu.type, sender: e.pdu.sender, room_id: roomId, content: e.pdu.content });
    let matchingNewestFirst = recentNewestFirst.filter(matches);
    const dropped = matchingNewestFirst.length < recentNewestFirst.length;
    let more = recentNewestFirst.length > limit;
    let oldest = recentNewestFirst.at(-1);
    const load = Math.max(limit * 2, 10);
    for (let round = 0; dropped && more && oldest && matchingNewestFirst.length <= limit && round < FILL_READS; round++) {
      const older = (await this.storage.events.getRoomsRecentEvents([roomId], { from, to: oldest.streamOrdering - 1, limit: load })).get(roomId) ?? [];
      matchingNewestFirst = [...matchingNewestFirst, ...older.filter(matches)];
      more = older.length >= load;
      oldest = older.at(-1) ?? oldest;
    }
    // Limited: matching events were left out, or may have been (older events not read).
    const limited = matchingNewestFirst.length > limit || (dropped && more);
    const kept = matchingNewestFirst.slice(0, limit).reverse();
    const matching = kept.map((e) => e.pdu);
    let visible: Pdu[];
    if (membership === "join" && matching.length > 0) {
      // A joined user: the history visibility at the events is the same for every member, read once.
      const ids = matching.map((p) => p.eventId).join(",");
      const historyVisibility = await this.shared.get(req.to, `hv|${ids}`, () => this.reads.historyVisibilityAt(matching));
      visible = await this.reads.visibleTo(req.userId, roomId, matching, { currentMembership: "join", historyVisibility });
    } else {
      visible = await this.reads.visibleTo(req.userId, roomId, matching);
    }
    // The token before the first event kept (before the oldest read, when the filter kept none).
    const first = kept[0] ?? null;
    const before = first ?? (dropped ? oldest ?? null : null);
    let prevBatch: string | null = null;
    if (before) {
      // /messages' token format (api/client/events): paging back from the first event's position excludes it.
      const id = before.pdu.eventId;
      const pos = await this.shared.get(req.to, `pos|${id}`, () => this.storage.events.getRoomPosition(id));
      if (pos) prevBatch = `t${pos.depth}_${pos.stream}`;
    }
    return { timeline: visible, limited, dropped, prevBatch, first, last: kept.at(-1) ?? null };
  }

  /**
   * The state section. Classic: the state before the timeline's first event, whole (initial) or as the changes
   * after `since`; for a not-limited incremental timeline the timeline itself carries the changes. With state
   * after: the state at the end of the timeline, whole or as the changes after `since`.
   *
   * Lazy loading (https://spec.matrix.org/v1.16/client-server-api/#lazy-loading-room-members) keeps only the
   * member events of the timeline's senders (and the user's own), and on an incremental sync adds the senders'
   * member events the changes would not name (unchanged since `since`), limited timeline or not; without
   * `include_redundant_members`, less those the device was already sent (lazy-members.ts). A member event in a
   * classic timeline counts as sent (the client applies timeline state); with state after it does not (the client
   * must not), so there only what `state_after` carries does.
   */
  private async state(
    req: RoomsRequest,
    roomId: RoomId,
    timeline: readonly Pdu[],
    at: { readonly first: StoredEvent | null; readonly last: StoredEvent | null; readonly initial: boolean; readonly limited: boolean },
    sent: DeviceMembersSent | null,
    summaryOf: (memberChanged: boolean) => Promise<JsonObject | null> = async () => null,
  ): Promise<{ events: JsonObject[]; summary: JsonObject | null }> {
    const { storage } = this;
    const { first, last, initial, limited } = at;
    const { lazy, redundant } = lazyLoading(req.filter.state);
    let ids: Map<StateKey, EventId> | null;
    if (req.stateAfterKey) {
      if (initial) ids = new Map(await storage.rooms.getCurrentState(roomId));
      else ids = await this.changesBetween(roomId, req.since!, req.to);
    } else if (initial) {
      const before = first ? await storage.state.getStateAtEvent(first.pdu.eventId, "before") : await storage.rooms.getCurrentState(roomId);
      ids = new Map(before ?? []);
    } else if (limited) {
      // A gap (events left out by the limit or the filter): the changes up to the timeline's start.
      ids = await this.changesBetween(roomId, req.since!, first ? first.streamOrdering - 1 : req.to);
    } else if (lazy && first) {
      ids = new Map(); // not limited: the timeline carries the changes, lazy loading still owes its senders' members
    } else {
      ids = null;
    }
    const memberChanged = !initial && ids !== null && [...ids.keys()].some((k) => splitStateKey(k).type === "m.room.member");
    const summary = await summaryOf(memberChanged);
    if (ids === null) return { events: [], summary };
    // Lazy loading sends the heroes' member events with the summary that names them (the summary's m.heroes).
    const heroes = lazy && summary ? ((summary["m.heroes"] ?? []) as readonly string[]) : [];
    if (lazy) {
      const wanted = new Set<string>([req.userId, ...timeline.map((p) => p.sender), ...heroes]);
      for (const k of [...ids.keys()]) {
        const { type, stateKey } = splitStateKey(k);
        if (type === "m.room.member" && !wanted.has(stateKey)) ids.delete(k);
      }
      if (!initial) {
        // The members the changes would not name: with state after, at the timeline's end; classic, at its start,
        // for the senders whose member event is not earlier in the timeline (and the user's own when limited).
        const anchor = req.stateAfterKey ? last : first;
        const when = req.stateAfterKey ? "after" : "before";
        const owed = req.stateAfterKey ? new Set(timeline.map((p) => p.sender)) : limited ? new Set(wanted) : sendersBeforeTheirMember(timeline);
        // Heroes too; classic, those whose member event is not in the timeline (the client reads it there).
        const inTimeline = new Set(timeline.flatMap((p) => (p.type === "m.room.member" && p.stateKey !== undefined ? [p.stateKey] : [])));
        for (const h of heroes) if (req.stateAfterKey || !inTimeline.has(h)) owed.add(h);
        for (const u of owed) {
          const k = stateKeyOf("m.room.member", u);
          if (ids.has(k)) continue;
          let id: EventId | null;
          if (anchor) {
            const eventId = anchor.pdu.eventId;
            id = await this.shared.get(req.to, `member|${when}|${eventId}|${u}`, () => storage.state.getStateEventAt(eventId, "m.room.member", u, when));
          } else {
            id = await storage.rooms.getCurrentStateEventId(roomId, "m.room.member", u); // no timeline: the state now
          }
          if (id) ids.set(k, id);
        }
        if (sent && !redundant) {
          for (const [k, id] of [...ids]) {
            const { type, stateKey } = splitStateKey(k);
            if (type === "m.room.member" && sent.has(roomId, stateKey, id)) ids.delete(k);
          }
        }
      }
    }
    const pdus = await storage.events.getPdus([...ids.values()]);
    const inTimeline = new Set(timeline.map((p) => p.eventId));
    const out: JsonObject[] = [];
    const record = lazy && sent ? sent : null;
    for (const id of ids.values()) {
      const p = pdus.get(id);
      if (!p) continue;
      if (!req.stateAfterKey && inTimeline.has(id)) continue;
      if (!roomEventFilterMatches(req.filter.state, { type: p.type, sender: p.sender, room_id: roomId, content: p.content })) continue;
      out.push(this.event(p, req.nowTs));
      if (record && p.type === "m.room.member" && p.stateKey !== undefined) record.record(roomId, p.stateKey, p.eventId, req.to);
    }
    if (record && !req.stateAfterKey) {
      for (const p of timeline) if (p.type === "m.room.member" && p.stateKey !== undefined) record.record(roomId, p.stateKey, p.eventId, req.to);
    }
    return { events: out, summary };
  }

  /** Current-state entries that changed in (from, to], the last change per key. */
  private async changesBetween(roomId: RoomId, from: StreamOrdering, to: StreamOrdering): Promise<Map<StateKey, EventId>> {
    const out = new Map<StateKey, EventId>();
    if (to <= from) return out;
    for (const c of await this.storage.rooms.getCurrentStateChanges({ from, to, limit: 100_000 }, [roomId])) {
      const k = stateKeyOf(c.type, c.stateKey);
      if (c.eventId) out.set(k, c.eventId);
      else out.delete(k);
    }
    return out;
  }

  private async leftRoom(req: RoomsRequest, timelines: Timelines, roomId: RoomId, leaveOrdering: StreamOrdering, limit: number, leaveEventId?: EventId): Promise<JsonObject> {
    const recent = await this.storage.events.getRoomsRecentEvents([roomId], { from: req.since ?? 0, to: leaveOrdering, limit: limit + 1 });
    const newestFirst = recent.get(roomId) ?? [];
    if (newestFirst.length === 0 && leaveEventId && !(await this.storage.rooms.getRoom(roomId))) {
      // An out-of-band leave (a rejected invite of a room this server does not hold): the leave is the timeline.
      const leave = (await this.storage.events.getPdus([leaveEventId])).get(leaveEventId);
      if (leave) return { timeline: { events: timelines.add([leave]), limited: false }, state: { events: [] }, account_data: { events: [] } };
    }
    const { timeline, limited, prevBatch } = await this.timeline(req, roomId, newestFirst, req.since ?? 0, limit, null);
    return {
      timeline: { events: timelines.add(timeline), limited, ...(prevBatch ? { prev_batch: prevBatch } : {}) },
      state: { events: [] },
      account_data: { events: [] },
    };
  }
}
