/**
 * One room of a sliding-sync response (MSC4186, "Room results"), and what the connection remembers of it after.
 *
 * - Invites and knocks: `invite_state` (Synapse's name, which clients read) and `stripped_state` (the MSC's), the
 *   room's stripped state (for a room this server does not hold, what the remote server sent with the invite or
 *   knock) and the user's member event; nothing of the room beyond that.
 * - Joined rooms, and rooms the user left or was banned from (seen up to the leave): on the first send (`initial`),
 *   or after a rejoin, everything the config asks for; afterwards only what changed since the room was last sent:
 *   `timeline` (newest `timeline_limit` events after that point, `limited` when more were skipped, `num_live`,
 *   `prev_batch`), `required_state` changes (a removed entry as a `{type, state_key}` stub), exactly the state a
 *   widened `required_state` newly asks for, lazily loaded members not sent before, `name` / `avatar` / `heroes` /
 *   counts when they may have changed. A raised `timeline_limit` resends the newest events and sets
 *   `expanded_timeline` (and Synapse's `unstable_expanded_timeline`) when some predate the last send.
 * - Always: `bump_stamp` when it may have changed (Synapse's rule), `notification_count` / `highlight_count` (as
 *   Synapse sends them), `membership`, `lists`, `is_dm` when the room is a DM.
 */
import { splitStateKey, stateKeyOf, type Pdu, type StateKey } from "../../core/events/index.js";
import type { EventId, RoomId, UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import { clientEvent, type RoomReads } from "../../rooms/index.js";
import { BUMP_EVENT_TYPES, type SlidingSyncRoomState, type StoredEvent, type StreamOrdering } from "../../storage/ports.js";
import { strippedOf } from "../../core/rooms/index.js";
import { MAX_HEROES } from "../room-summary.js";
import { heldRoomStrippedState, outOfBandStrippedState } from "../stripped-state.js";
import { unreadCounts, type UnreadReuse } from "../unread.js";
import { configWants, fromJson, isLazy, newlyWanted, sameConfig, toJson } from "./room-config.js";
import type { RoomConfig } from "./request.js";
import type { Candidate } from "./room-list.js";
import type { SlidingStorage } from "./storage.js";
import type { Timelines } from "../timelines.js";

/** Event types that bump a room: the storage's list (its room-list table keeps their newest position). */
export { BUMP_EVENT_TYPES };
/** How many lazily loaded members a connection remembers per room (Synapse keeps 100 too). */
export const MAX_REMEMBERED_LAZY = 100;
/** The most state changes read for one room in one response. */
const MAX_STATE_CHANGES = 10_000;

export interface RoomContext {
  readonly storage: SlidingStorage;
  readonly reads: RoomReads;
  readonly userId: UserId;
  /** The events position of the request's pos (null: the connection's first request). */
  readonly from: StreamOrdering | null;
  readonly to: StreamOrdering;
  readonly nowTs: number;
  readonly unread: UnreadReuse;
  /** Where the rooms' timeline events wait for their client form, filled for all rooms at once (../timelines.ts). */
  readonly timelines: Timelines;
}

export interface RoomInput {
  readonly candidate: Candidate;
  readonly config: RoomConfig;
  readonly lists: readonly string[];
  readonly isDm: boolean;
  /** What the connection last sent of the room. */
  readonly sent: SlidingSyncRoomState | undefined;
}

export interface RoomOutput {
  /** null: nothing to send (the room's updates were not visible to the user). */
  readonly body: JsonObject | null;
  readonly initial: boolean;
  /** The room's record after this response (when `body` is sent). */
  readonly state: SlidingSyncRoomState;
  /** Timeline event ids sent (receipts of initial rooms are limited to them). */
  readonly timelineIds: readonly EventId[];
}

const isRoomMember = (m: string) => m === "join" || m === "leave" || m === "ban";

/** Whether the room is sent fresh: never sent, or (re)joined, invited or knocked since it was. */
export function isInitial(input: RoomInput, from: StreamOrdering | null): boolean {
  const { sent, candidate } = input;
  if (from === null || !sent) return true;
  if (candidate.membership === "invite" || candidate.membership === "knock") return sent.membership !== candidate.membership;
  return candidate.membership === "join" && sent.membership !== "join";
}

async function strippedState(ctx: RoomContext, candidate: Candidate): Promise<JsonObject[]> {
  const { roomId, memberEvent, outOfBand } = candidate;
  // A room this server does not hold: what the remote server sent, and the user's member event (as /sync).
  if (outOfBand) return outOfBandStrippedState(outOfBand, memberEvent?.pdu.stateKey, memberEvent?.pdu);
  const out = await heldRoomStrippedState(ctx.storage, roomId);
  if (memberEvent) out.push(strippedOf(memberEvent.pdu));
  return out;
}

/**
 * The state the user sees of a room: the current state when joined, the state after the user's leave otherwise.
 * Single entries of the current state are read one by one until the whole state is needed.
 */
class RoomStateReader {
  private whole?: Promise<ReadonlyMap<StateKey, EventId>>;

  constructor(private readonly ctx: RoomContext, private readonly roomId: RoomId, private readonly atEvent: EventId | null) {}

  all(): Promise<ReadonlyMap<StateKey, EventId>> {
    return (this.whole ??= this.atEvent === null ? this.ctx.storage.rooms.getCurrentState(this.roomId) : this.ctx.storage.state.getStateAtEvent(this.atEvent, "after").then((m) => m ?? new Map()));
  }

  async get(type: string, stateKey: string): Promise<EventId | undefined> {
    if (this.whole || this.atEvent !== null) return (await this.all()).get(stateKeyOf(type, stateKey));
    return (await this.ctx.storage.rooms.getCurrentStateEventId(this.roomId, type, stateKey)) ?? undefined;
  }
}

/** Current-state entries of the room changed in (from, to]: the last change per key, null for a removal. */
async function stateChanges(ctx: RoomContext, roomId: RoomId, from: StreamOrdering, to: StreamOrdering): Promise<Map<StateKey, EventId | null>> {
  const out = new Map<StateKey, EventId | null>();
  if (to <= from) return out;
  for (const c of await ctx.storage.rooms.getCurrentStateChanges({ from, to, limit: MAX_STATE_CHANGES }, [roomId])) out.set(stateKeyOf(c.type, c.stateKey), c.eventId);
  return out;
}

/** Events as /sync sends them: the client format without `room_id` (the room is the key they are under). */
function eventJson(p: Pdu, nowTs: number): JsonObject {
  const { room_id: _roomId, ...rest } = clientEvent(p, nowTs) as Record<string, JsonValue>;
  return rest;
}

const str = (v: JsonValue | undefined): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** The stored config of a room also says whether it was sent as a DM (fromJson ignores the extra key). */
const withDm = (config: JsonObject, isDm: boolean): JsonObject => (isDm ? { ...config, is_dm: true } : config);
/** Whether the room was last sent as a DM. */
export const sentAsDm = (sent: SlidingSyncRoomState): boolean => sent.config["is_dm"] === true;

export async function roomData(ctx: RoomContext, input: RoomInput): Promise<RoomOutput> {
  const { candidate, config, sent } = input;
  const { roomId, membership } = candidate;
  const initial = isInitial(input, ctx.from);
  const common: Record<string, JsonValue> = { membership };
  if (input.lists.length > 0) common["lists"] = [...input.lists];
  // is_dm: true whenever the room is a DM; false when it stopped being one since it was last sent (the MSC).
  const dmChanged = !initial && sent !== undefined && sentAsDm(sent) !== input.isDm;
  if (input.isDm) common["is_dm"] = true;
  else if (dmChanged) common["is_dm"] = false;
  if (initial) common["initial"] = true;
  const record = (over: Partial<SlidingSyncRoomState> = {}): SlidingSyncRoomState => ({
    roomId, status: "live", lastEvents: ctx.to, membership, config: withDm(toJson(config), input.isDm), lazyMembers: [], ...over,
  });

  if (!isRoomMember(membership) || candidate.neverJoined) {
    if (!initial && sent?.membership === membership) return { body: null, initial, state: sent, timelineIds: [] };
    // An invite or knock shows stripped state; a rejected or withdrawn one only the member event that ended it.
    const stripped = candidate.neverJoined ? (candidate.memberEvent ? [strippedOf(candidate.memberEvent.pdu)] : []) : await strippedState(ctx, candidate);
    const body = { ...common, invite_state: stripped, stripped_state: stripped, bump_stamp: Math.max(0, candidate.activity), notification_count: 0, highlight_count: 0 };
    return { body, initial, state: record(), timelineIds: [] };
  }

  // How far the room is already known: `live` up to the request's pos, `previously` up to when it was last sent.
  const fromBound = initial ? 0 : sent!.status === "live" ? ctx.from! : sent!.lastEvents;
  const toBound = membership === "join" ? ctx.to : Math.min(ctx.to, candidate.memberEvent?.streamOrdering ?? ctx.to);
  const prevConfig = !initial && sent ? fromJson(sent.config) : null;
  const expand = prevConfig !== null && config.timelineLimit > prevConfig.timelineLimit;

  // Timeline.
  let timeline: StoredEvent[] = [];
  let limited = false;
  let prevBatch: string | null = null;
  if (config.timelineLimit > 0) {
    const recent = (await ctx.storage.events.getRoomsRecentEvents([roomId], { from: initial || expand ? 0 : fromBound, to: toBound, limit: config.timelineLimit + 1 })).get(roomId) ?? [];
    limited = recent.length > config.timelineLimit;
    const kept = recent.slice(0, config.timelineLimit).reverse();
    const visible = new Set((await ctx.reads.visibleTo(ctx.userId, roomId, kept.map((e) => e.pdu))).map((p) => p.eventId));
    timeline = kept.filter((e) => visible.has(e.pdu.eventId));
    const first = kept[0];
    if (first) {
      const pos = await ctx.storage.events.getRoomPosition(first.pdu.eventId);
      if (pos) prevBatch = `t${pos.depth}_${pos.stream}`;
    }
  }
  const expanded = expand && timeline.some((e) => e.streamOrdering <= fromBound);

  // State: whole on an initial send, else the changes since the room was last sent.
  const deltas = initial ? new Map<StateKey, EventId | null>() : await stateChanges(ctx, roomId, fromBound, toBound);
  const changedTypes = new Set([...deltas.keys()].map((k) => splitStateKey(k).type));
  const memberChanged = initial || changedTypes.has("m.room.member");
  const stateNow = new RoomStateReader(ctx, roomId, membership === "join" ? null : candidate.memberEvent?.pdu.eventId ?? null);

  const send = new Map<StateKey, EventId | null>();
  if (initial) {
    for (const [k, id] of await stateNow.all()) {
      const { type, stateKey } = splitStateKey(k);
      if (configWants(config, type, stateKey)) send.set(k, id);
    }
  } else {
    for (const [k, id] of deltas) {
      const { type, stateKey } = splitStateKey(k);
      if (configWants(config, type, stateKey) || (type === "m.room.member" && isLazy(config) && !limited)) send.set(k, id);
    }
    // A widened required_state: exactly what it newly asks for, as it is now.
    if (prevConfig && !sameConfig(prevConfig, config)) {
      const all = await stateNow.all();
      for (const k of newlyWanted(prevConfig, config, [...all.keys()].map(splitStateKey))) {
        const sk = stateKeyOf(k.type, k.stateKey);
        if (!send.has(sk)) send.set(sk, all.get(sk) ?? null);
      }
    }
  }
  // Lazy members: the timeline's senders and member-event targets whose member event was not sent before.
  let lazyMembers: string[] = initial || limited ? [] : [...(sent?.lazyMembers ?? [])];
  if (isLazy(config)) {
    const known = new Set(lazyMembers);
    const wanted = new Set<string>();
    for (const e of timeline) {
      wanted.add(e.pdu.sender);
      if (e.pdu.type === "m.room.member" && e.pdu.stateKey !== undefined) wanted.add(e.pdu.stateKey);
    }
    for (const u of wanted) {
      const k = stateKeyOf("m.room.member", u);
      if (send.has(k)) {
        known.add(u);
        continue;
      }
      if (known.has(u)) continue;
      const id = await stateNow.get("m.room.member", u);
      if (id) {
        send.set(k, id);
        known.add(u);
      }
    }
    for (const [k] of send) {
      const { type, stateKey } = splitStateKey(k);
      if (type === "m.room.member") known.add(stateKey);
    }
    lazyMembers = [...known].slice(-MAX_REMEMBERED_LAZY);
  }

  const statePdus = await ctx.storage.events.getPdus([...send.values()].filter((x): x is EventId => x !== null));
  const requiredState: JsonObject[] = [];
  for (const [k, id] of send) {
    if (id === null) {
      const { type, stateKey } = splitStateKey(k);
      requiredState.push({ type, state_key: stateKey });
      continue;
    }
    const p = statePdus.get(id);
    if (p) requiredState.push(eventJson(p, ctx.nowTs));
  }

  const body: Record<string, JsonValue> = { ...common };
  if (requiredState.length > 0) body["required_state"] = requiredState;
  if (config.timelineLimit > 0) {
    if (timeline.length > 0) body["timeline"] = ctx.timelines.add(timeline.map((e) => e.pdu), { withRoomId: false });
    body["limited"] = limited;
    if (prevBatch) body["prev_batch"] = prevBatch;
    body["num_live"] = ctx.from === null ? 0 : timeline.filter((e) => e.streamOrdering > ctx.from!).length;
  }
  if (expanded) {
    body["expanded_timeline"] = true;
    body["unstable_expanded_timeline"] = true;
  }

  // Name, avatar, heroes and counts: on an initial send, or when their state changed.
  const content = async (type: string): Promise<JsonObject | null> => {
    const id = await stateNow.get(type, "");
    const p = id ? (await ctx.storage.events.getPdus([id])).get(id) : undefined;
    return p ? (p.content as JsonObject) : null;
  };
  const needName = initial || changedTypes.has("m.room.name") || (membership === "join" && memberChanged);
  const name = needName ? str((await content("m.room.name"))?.["name"]) : null;
  if (initial || changedTypes.has("m.room.name")) {
    if (name !== null) body["name"] = name;
    else if (!initial) body["name"] = null;
  }
  if (initial || changedTypes.has("m.room.avatar")) {
    const avatar = str((await content("m.room.avatar"))?.["url"]);
    if (avatar !== null) body["avatar"] = avatar;
    else if (!initial) body["avatar"] = null;
  }
  // A room joined with members omitted (rooms/partial-state.ts): no counts until complete (the completion's member
  // changes then bring them), as lazy-loading /sync.
  const partial = membership === "join" && memberChanged && (await ctx.storage.rooms.getPartialStateRoom(roomId)) !== null;
  if (membership === "join" && memberChanged && !partial) {
    const [joined, invited] = await Promise.all([ctx.storage.roomClient.getRoomMembers(roomId, "join"), ctx.storage.roomClient.getRoomMembers(roomId, "invite")]);
    body["joined_count"] = joined.length;
    body["invited_count"] = invited.length;
    if (name === null) {
      const heroIds = [...[...joined].sort(), ...[...invited].sort()].filter((u) => u !== ctx.userId).slice(0, MAX_HEROES);
      const heroEvents = await Promise.all(heroIds.map((u) => stateNow.get("m.room.member", u)));
      const pdus = await ctx.storage.events.getPdus(heroEvents.filter((x): x is EventId => x !== undefined));
      const heroes: JsonObject[] = [];
      for (const [i, u] of heroIds.entries()) {
        const id = heroEvents[i];
        const c = id ? (pdus.get(id)?.content as JsonObject | undefined) : undefined;
        const hero: Record<string, JsonValue> = { user_id: u };
        if (typeof c?.["displayname"] === "string") hero["displayname"] = c["displayname"];
        if (typeof c?.["avatar_url"] === "string") hero["avatar_url"] = c["avatar_url"];
        heroes.push(hero);
      }
      if (heroes.length > 0) body["heroes"] = heroes;
    }
  }

  if (membership === "join") {
    const counts = await unreadCounts(ctx.storage, roomId, ctx.userId, ctx.to, false, ctx.unread);
    body["notification_count"] = counts.room.notification_count;
    body["highlight_count"] = counts.room.highlight_count;
  } else {
    body["notification_count"] = 0;
    body["highlight_count"] = 0;
  }

  // bump_stamp: when it may have moved (Synapse's rule: first send, a gap, no timeline, not joined, or a bumping event).
  const mayHaveMoved = initial || limited || membership !== "join" || config.timelineLimit === 0 || timeline.some((e) => BUMP_EVENT_TYPES.includes(e.pdu.type));
  if (mayHaveMoved) {
    let bump: number | undefined;
    // The room-list row's bump stamp when it is as of the token (0: no bumping event), else a probe up to the token.
    if (membership === "join") bump = candidate.bumpStamp !== undefined ? candidate.bumpStamp || undefined : (await ctx.storage.slidingSync.latestEventPositions([roomId], ctx.to, BUMP_EVENT_TYPES)).get(roomId);
    body["bump_stamp"] = Math.max(0, bump ?? candidate.activity);
  }

  const state = record({ lazyMembers });
  const nothing = !initial && !expanded && !dmChanged && timeline.length === 0 && requiredState.length === 0 && sent?.membership === membership;
  return { body: nothing ? null : body, initial, state, timelineIds: timeline.map((e) => e.pdu.eventId) };
}
