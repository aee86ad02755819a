/**
 * Reading rooms for clients: history visibility on every event a user is shown
 * (https://spec.matrix.org/v1.16/client-server-api/#room-history-visibility, decided by core/visibility on the
 * state before each event), the client event format with redactions applied, and who may read a room's state.
 */
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import { redactEvent, stateKeyOf, type Pdu } from "../core/events/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import { DUMMY_EVENT_TYPE } from "./extremities.js";
import { historyVisibilityOf, membershipOf, userMaySeeEvent, type HistoryVisibility, type Membership } from "../core/visibility/index.js";
import { MatrixError } from "../core/errors.js";
import { PowerLevelView } from "../core/auth/index.js";
import { isKnownRoomVersion, roomVersion } from "../core/room-versions/index.js";
import type { RoomStorage } from "./room-service.js";
import { bundledAggregations, THREAD_LATEST_CANDIDATES, type AggregationSource } from "./aggregations.js";

/** Where a user may read a room's state from: now, or as it was when they left. */
export type StateView = { readonly at: "current" } | { readonly at: "event"; readonly eventId: EventId };

/** What a caller of `RoomReads.visibleTo` may already know. */
export interface VisibilityKnown {
  /** The user's membership in the room now. */
  readonly currentMembership?: Membership | null;
  /** m.room.history_visibility before each event (`RoomReads.historyVisibilityAt`). */
  readonly historyVisibility?: ReadonlyMap<EventId, HistoryVisibility>;
}

export class RoomReads {
  constructor(private readonly storage: RoomStorage) {}

  async currentMembership(roomId: RoomId, userId: UserId): Promise<{ membership: Membership | null; eventId: EventId | null }> {
    const id = await this.storage.rooms.getCurrentStateEventId(roomId, "m.room.member", userId);
    if (!id) return { membership: null, eventId: null };
    const pdu = (await this.storage.events.getPdus([id])).get(id);
    return { membership: pdu ? membershipOf(pdu.content) : null, eventId: id };
  }

  private async worldReadable(roomId: RoomId): Promise<boolean> {
    const id = await this.storage.rooms.getCurrentStateEventId(roomId, "m.room.history_visibility", "");
    if (!id) return false;
    const pdu = (await this.storage.events.getPdus([id])).get(id);
    return historyVisibilityOf(pdu?.content) === "world_readable";
  }

  /**
   * Who may read a room's state: a joined member (current state), a former member (the state when they left),
   * anyone when the room is world_readable; 404 M_NOT_FOUND for an unknown room, 403 M_FORBIDDEN otherwise.
   */
  async stateView(roomId: RoomId, userId: UserId): Promise<StateView> {
    if (!(await this.storage.rooms.getRoom(roomId))) throw MatrixError.notFound(`unknown room ${roomId}`);
    const { membership, eventId } = await this.currentMembership(roomId, userId);
    if (membership === "join" || (await this.worldReadable(roomId))) return { at: "current" };
    if ((membership === "leave" || membership === "ban") && eventId) return { at: "event", eventId };
    throw MatrixError.forbidden(`${userId} is not in room ${roomId}`);
  }

  /** Refuses (404 unknown room, 403 never a member and not world_readable) before reading a room's history. */
  async requireHistoryAccess(roomId: RoomId, userId: UserId): Promise<void> {
    await this.stateView(roomId, userId);
  }

  /** The room's power levels now (null for an unknown room). */
  async powerLevels(roomId: RoomId): Promise<PowerLevelView | null> {
    const room = await this.storage.rooms.getRoom(roomId);
    if (!room || !isKnownRoomVersion(room.roomVersion)) return null;
    const [create, pl] = await Promise.all([
      this.storage.rooms.getCurrentStateEventId(roomId, "m.room.create", ""),
      this.storage.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
    ]);
    const pdus = await this.storage.events.getPdus([create, pl].filter((x): x is EventId => x !== null));
    return new PowerLevelView(pl ? pdus.get(pl) : undefined, create ? pdus.get(create) : undefined, roomVersion(room.roomVersion));
  }

  /** Whether the user's power level now reaches what sending a state event of `type` needs. */
  async maySendState(roomId: RoomId, userId: UserId, type: string): Promise<boolean> {
    const view = await this.powerLevels(roomId);
    return view !== null && view.userLevel(userId) >= view.requiredLevel(type, true);
  }

  /**
   * The events among `events` the user may see, in the given order. The history visibility and the user's
   * membership at every event come from one storage read (StateStore.getStateEntriesAt), whatever the page size.
   *
   * A caller that knows the user's current membership, or the history visibility at the events (read once for
   * many users with `historyVisibilityAt`), passes them in `known`: the user's membership at the events is then
   * read only for events whose visibility depends on it (not world_readable, and not shared to a joined user).
   */
  async visibleTo(userId: UserId, roomId: RoomId, all: readonly Pdu[], known?: VisibilityKnown): Promise<Pdu[]> {
    // Dummy events only merge forward extremities (extremities.ts); clients never see them, as in Synapse.
    const events = all.filter((e) => !(e.type === DUMMY_EVENT_TYPE && e.stateKey === undefined));
    if (events.length === 0) return [];
    if (known?.historyVisibility) return this.visibleKnowing(userId, roomId, events, known.historyVisibility, known.currentMembership);
    const hvKey = stateKeyOf("m.room.history_visibility", "");
    const memberKey = stateKeyOf("m.room.member", userId);
    const [current, at] = await Promise.all([
      known?.currentMembership !== undefined ? known.currentMembership : this.currentMembership(roomId, userId).then((m) => m.membership),
      this.storage.state.getStateEntriesAt(events.map((e) => e.eventId), [hvKey, memberKey], "before"),
    ]);
    const needed = new Set<EventId>();
    for (const entries of at.values()) for (const id of entries.values()) needed.add(id);
    const pdus = await this.storage.events.getPdus([...needed]);
    return events.filter((e) => {
      const entries = at.get(e.eventId);
      const hv = entries?.get(hvKey);
      const member = entries?.get(memberKey);
      return this.maySee(userId, e, historyVisibilityOf(hv ? pdus.get(hv)?.content : undefined), member ? membershipOf(pdus.get(member)?.content) : null, current);
    });
  }

  /** m.room.history_visibility in the state before each event (events of one room). */
  async historyVisibilityAt(events: readonly Pdu[]): Promise<ReadonlyMap<EventId, HistoryVisibility>> {
    const hvKey = stateKeyOf("m.room.history_visibility", "");
    const at = await this.storage.state.getStateEntriesAt(events.map((e) => e.eventId), [hvKey], "before");
    const ids = new Set<EventId>();
    for (const entries of at.values()) for (const id of entries.values()) ids.add(id);
    const pdus = await this.storage.events.getPdus([...ids]);
    const out = new Map<EventId, HistoryVisibility>();
    for (const e of events) {
      const hv = at.get(e.eventId)?.get(hvKey);
      out.set(e.eventId, historyVisibilityOf(hv ? pdus.get(hv)?.content : undefined));
    }
    return out;
  }

  private async visibleKnowing(userId: UserId, roomId: RoomId, events: readonly Pdu[], hv: ReadonlyMap<EventId, HistoryVisibility>, knownCurrent: Membership | null | undefined): Promise<Pdu[]> {
    const current = knownCurrent !== undefined ? knownCurrent : (await this.currentMembership(roomId, userId)).membership;
    const visibility = (e: Pdu) => hv.get(e.eventId) ?? "shared";
    // Visible without a membership at the event: then visible with any (rules 1 and 3 do not look at it).
    const undecided = events.filter((e) => !this.maySee(userId, e, visibility(e), null, current));
    if (undecided.length === 0) return [...events];
    const memberKey = stateKeyOf("m.room.member", userId);
    const at = await this.storage.state.getStateEntriesAt(undecided.map((e) => e.eventId), [memberKey], "before");
    const ids = new Set<EventId>();
    for (const entries of at.values()) for (const id of entries.values()) ids.add(id);
    const pdus = await this.storage.events.getPdus([...ids]);
    const denied = new Set<EventId>();
    for (const e of undecided) {
      const member = at.get(e.eventId)?.get(memberKey);
      if (!this.maySee(userId, e, visibility(e), member ? membershipOf(pdus.get(member)?.content) : null, current)) denied.add(e.eventId);
    }
    return events.filter((e) => !denied.has(e.eventId));
  }

  private maySee(userId: UserId, e: Pdu, historyVisibility: HistoryVisibility, membershipAtEvent: Membership | null, currentMembership: Membership | null): boolean {
    return userMaySeeEvent({
      userId,
      event: { type: e.type, ...(e.stateKey !== undefined ? { state_key: e.stateKey } : {}), content: e.content },
      historyVisibility,
      membershipAtEvent,
      currentMembership,
    }).visible;
  }

  /**
   * The client format of events served to `reader`, as a timeline shows them (`clientEvents` with `prevState` and
   * the reader's transaction ids), with the server-side aggregations (m.thread, m.replace) the user may see bundled
   * into unsigned["m.relations"] (aggregations.ts).
   */
  async clientEventsFor(reader: Reader, events: readonly Pdu[], nowTs: number): Promise<JsonObject[]> {
    const [json, bundles] = await Promise.all([
      this.clientEvents(events, nowTs, { reader, prevState: true }),
      bundledAggregations(this.aggregationSource(nowTs), reader.userId, events),
    ]);
    return json.map((j, i) => {
      const b = bundles.get(events[i]!.eventId);
      return b ? { ...j, unsigned: { ...((j["unsigned"] as JsonObject | undefined) ?? {}), "m.relations": b } } : j;
    });
  }

  private aggregationSource(nowTs: number): AggregationSource {
    return {
      threadSummaries: (roots, userId) => this.storage.relations.getThreadSummaries(roots, userId, THREAD_LATEST_CANDIDATES),
      replacements: (ids) => this.storage.relations.getReplacements(ids),
      pdus: (ids) => this.storage.events.getPdus(ids),
      visible: async (userId, events) => (events.length === 0 ? [] : this.visibleTo(userId, events[0]!.roomId, events)),
      client: (events) => this.clientEvents(events, nowTs),
      redacted: async (ids) => new Set((await this.storage.roomClient.getRedactions(ids)).keys()),
    };
  }

  /**
   * The client format of events (https://spec.matrix.org/v1.16/client-server-api/#room-event-format), redactions
   * applied, and what `opts` asks for in `unsigned`:
   *
   * - `reader` with a device: `transaction_id` on the events that device sent with a txn id (PUT /send, /redact),
   *   for that device only (https://spec.matrix.org/v1.16/client-server-api/#transaction-identifiers);
   * - `prevState`: on a state event that replaced an earlier entry of its (type, state_key), `replaces_state` (that
   *   event's id) and, as Synapse, `prev_content` and `prev_sender` (its content, redacted when it was, and sender).
   *
   * A fixed number of batched reads whatever the page (one per room for the previous state entries): redactions,
   * txn ids (only when the reader sent some of the events), the state entries before the state events, then the
   * redaction and previous events and the previous events' redactions.
   */
  async clientEvents(events: readonly Pdu[], nowTs: number, opts: ClientEventOptions = {}): Promise<JsonObject[]> {
    if (events.length === 0) return [];
    const { reader, prevState = false } = opts;
    const own = reader?.deviceId !== undefined ? events.filter((e) => e.sender === reader.userId).map((e) => e.eventId) : [];
    const stateEvents = prevState ? events.filter((e) => e.stateKey !== undefined) : [];
    const [redactions, txnIds, replaces] = await Promise.all([
      this.storage.roomClient.getRedactions(events.map((e) => e.eventId)),
      own.length > 0 ? this.storage.roomClient.getClientTxnIds(reader!.userId, reader!.deviceId!, own) : new Map<EventId, string>(),
      this.replacedState(stateEvents),
    ]);
    const prevIds = [...new Set(replaces.values())];
    const wanted = [...new Set([...redactions.values(), ...prevIds])];
    const [pdus, prevRedactions] = await Promise.all([
      wanted.length > 0 ? this.storage.events.getPdus(wanted) : new Map<EventId, Pdu>(),
      prevIds.length > 0 ? this.storage.roomClient.getRedactions(prevIds) : new Map<EventId, EventId>(),
    ]);
    return events.map((e) => {
      const extra: Record<string, JsonValue> = {};
      const txnId = txnIds.get(e.eventId);
      if (txnId !== undefined) extra["transaction_id"] = txnId;
      const prevId = replaces.get(e.eventId);
      if (prevId !== undefined) {
        extra["replaces_state"] = prevId;
        const prev = pdus.get(prevId);
        if (prev) {
          const content = prevRedactions.has(prevId) ? (redactEvent(prev.raw, prev.roomVersion)["content"] as JsonObject | undefined) ?? {} : prev.content;
          extra["prev_content"] = content;
          extra["prev_sender"] = prev.sender;
        }
      }
      const by = redactions.get(e.eventId);
      const byPdu = by ? pdus.get(by) : undefined;
      return clientEvent(e, nowTs, byPdu ? clientEvent(byPdu, nowTs) : undefined, extra);
    });
  }

  /**
   * For each state event with an entry of its own (type, state_key) in the state before it, that entry's event id.
   * One state read per room (the keys asked are the room's events' own keys).
   */
  private async replacedState(stateEvents: readonly Pdu[]): Promise<Map<EventId, EventId>> {
    const out = new Map<EventId, EventId>();
    if (stateEvents.length === 0) return out;
    const byRoom = new Map<RoomId, Pdu[]>();
    for (const e of stateEvents) {
      let l = byRoom.get(e.roomId);
      if (!l) byRoom.set(e.roomId, (l = []));
      l.push(e);
    }
    await Promise.all([...byRoom.values()].map(async (list) => {
      const keyOf = (e: Pdu) => stateKeyOf(e.type, e.stateKey!);
      const before = await this.storage.state.getStateEntriesAt(list.map((e) => e.eventId), [...new Set(list.map(keyOf))], "before");
      for (const e of list) {
        const prev = before.get(e.eventId)?.get(keyOf(e));
        if (prev !== undefined && prev !== e.eventId) out.set(e.eventId, prev);
      }
    }));
    return out;
  }
}

/** Who reads events: the user, and the device whose own sends carry unsigned.transaction_id. */
export interface Reader {
  readonly userId: UserId;
  /** Absent: no transaction ids are shown. */
  readonly deviceId?: string;
}

export interface ClientEventOptions {
  /** The reader whose device's own sends carry unsigned.transaction_id. */
  readonly reader?: Reader;
  /** State events carry replaces_state, prev_content and prev_sender (timelines; not whole states, which would pay a read per key). */
  readonly prevState?: boolean;
}

/**
 * One event in the client format; with `redactedBecause`, its redacted form. `unsigned` holds `age`, then the
 * `extra` fields (transaction_id, replaces_state, prev_content, prev_sender from RoomReads.clientEvents).
 */
export function clientEvent(e: Pdu, nowTs: number, redactedBecause?: JsonObject, extra?: Readonly<Record<string, JsonValue>>): JsonObject {
  const raw = redactedBecause ? redactEvent(e.raw, e.roomVersion) : e.raw;
  const unsigned: Record<string, JsonValue> = { age: Math.max(0, nowTs - e.originServerTs), ...extra };
  if (redactedBecause) unsigned["redacted_because"] = redactedBecause;
  const out: Record<string, JsonValue> = {
    type: e.type,
    content: (raw["content"] as JsonObject | undefined) ?? {},
    sender: e.sender,
    event_id: e.eventId,
    room_id: e.roomId,
    origin_server_ts: e.originServerTs,
    unsigned,
  };
  if (e.stateKey !== undefined) out["state_key"] = e.stateKey;
  if (e.redacts !== undefined) out["redacts"] = e.redacts;
  return out;
}
