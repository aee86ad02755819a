/**
 * Partial-state rooms: joins with members omitted, and their completion in the background.
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2send_joinroomideventid (omit_members),
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1state_idsroomid,
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1stateroomid
 *
 * 1. The join (remote-join.ts) asks send_join for omit_members; an answer with members_omitted is verified as a full
 *    one is, and persisted with the partial state as the join's state before, the room recorded as partial-state
 *    (storage: partial_state_rooms, with servers_in_room) in the join's transaction. The join returns at once.
 * 2. While partial, remote events go through the pipeline as usual (remote-event.ts), but a membership a check needs
 *    that is absent from the state only because it was omitted is taken from the event's own auth events (trusted,
 *    having passed their own checks); events go to servers_in_room as well as the joined members' servers.
 * 3. Completion (PartialStateCompleter, here), outside the room's queue until the last step:
 *    a. /state_ids?event_id=<join> on each server of servers_in_room in turn (the room id's server first);
 *    b. the events we lack: /state when more than FEW_MISSING, else /event each; verified in one batch and stored as
 *       outliers, each checked against its own auth events;
 *    c. in the room's queue and ONE storage transaction: the keys of the full state at the join that the partial
 *       state lacked go into every snapshot state group of the room (so into the join's state and every event's
 *       since: a key an event's state has keeps its value), the ones current state lacks into current state (and so
 *       current memberships and the membership stream), and the record is marked complete at that stream position;
 *    d. the notifier wakes /sync; waiters (/members) are released.
 *    A failed round (no server answered) is retried after a back-off doubling from RETRY_MIN_MS to RETRY_MAX_MS.
 *    Every partial-state room's completion is resumed at start-up (resumeAll).
 */
import type { Clock } from "../core/clock.js";
import { stateKeyOf, type Pdu, type StateKey } from "../core/events/index.js";
import type { EventId, RoomId, ServerName } from "../core/ids/index.js";
import { isKnownRoomVersion, roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import type { PartialStateRoom } from "../storage/ports.js";
import { outlierEntries, type RemoteDeps } from "./remote-event.js";
import type { RoomStorage } from "./room-service.js";

/** Step 3b: up to this many missing events are fetched one by one with /event; more, with one /state. */
export const FEW_MISSING = 50;
/** Step 3's back-off between failed rounds. */
export const RETRY_MIN_MS = 1_000;
export const RETRY_MAX_MS = 10 * 60_000;
/** A `/members` wait wakes a room's completion from its back-off at most this often. */
const WAKE_EVERY_MS = 30_000;

/** The FederationClient methods the completion calls. */
export interface PartialStateClient {
  getStateIds(destination: ServerName, roomId: RoomId, eventId: EventId): Promise<{ pduIds: EventId[]; authChainIds: EventId[] }>;
  getState(destination: ServerName, roomId: RoomId, eventId: EventId, rules: RoomVersionRules): Promise<{ pdus: Pdu[]; authChain: Pdu[] }>;
  getEvent(destination: ServerName, eventId: EventId, rules: RoomVersionRules): Promise<Pdu>;
}

export interface PartialStateLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface PartialStateDeps {
  readonly serverName: ServerName;
  readonly storage: RoomStorage;
  readonly remote: RemoteDeps & { readonly client: PartialStateClient };
  readonly clock: Pick<Clock, "now" | "sleep">;
  /** Runs `fn` in the room's queue (step 3c). */
  readonly inRoomQueue: <T>(roomId: RoomId, fn: () => Promise<T>) => Promise<T>;
  /** After step 3c committed (the notifier). */
  readonly notify: (maxOrdering: number, roomId: RoomId, events: readonly Pdu[]) => void;
  readonly log?: PartialStateLog;
  /** First back-off (tests shorten it). */
  readonly retryMinMs?: number;
}

/** Step 3a's order: the room id's server first (it made the room), then the others as servers_in_room lists them. */
export function completionServers(record: PartialStateRoom, self: ServerName): ServerName[] {
  const colon = record.roomId.indexOf(":");
  const home = colon >= 0 ? (record.roomId.slice(colon + 1) as ServerName) : undefined;
  const all = [...(home && record.serversInRoom.includes(home) ? [home] : []), ...record.serversInRoom];
  return [...new Set(all)].filter((s) => s !== self);
}

/**
 * Step 3c's arithmetic (pure): the full state at the join against what we hold. `fill`: the full state's keys the
 * partial state at the join lacked (storage adds each to the snapshot groups that lack it); `current`: those of
 * them current state lacks too (a key set since the join, e.g. a member who joined meanwhile, keeps its value).
 */
export function completionDelta(
  full: ReadonlyMap<StateKey, EventId>, partialAtJoin: ReadonlyMap<StateKey, EventId>, current: ReadonlyMap<StateKey, EventId>,
): { fill: Map<StateKey, EventId>; current: Map<StateKey, EventId> } {
  const fill = new Map<StateKey, EventId>();
  const cur = new Map<StateKey, EventId>();
  for (const [k, id] of full) {
    if (partialAtJoin.has(k)) continue;
    fill.set(k, id);
    if (!current.has(k)) cur.set(k, id);
  }
  return { fill, current: cur };
}

export class PartialStateCompleter {
  private readonly running = new Map<RoomId, Promise<void>>();
  private readonly waiters = new Map<RoomId, Set<() => void>>();
  /** Aborted by stop(): ends the back-off sleeps and the waits of `/members` at once. */
  private readonly stopping = new AbortController();
  /** Each room's back-off sleep under way, which a `/members` wait may cut short (wake). */
  private readonly naps = new Map<RoomId, AbortController>();
  /** When a wait last woke each room's completion (at most once per WAKE_EVERY_MS). */
  private readonly lastWake = new Map<RoomId, number>();

  constructor(private readonly deps: PartialStateDeps) {}

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Step 3 for one room (no-op when it runs already). */
  start(record: PartialStateRoom): void {
    if (this.stopped || this.running.has(record.roomId)) return;
    const p = this.loop(record).finally(() => {
      this.running.delete(record.roomId);
      this.release(record.roomId);
    });
    this.running.set(record.roomId, p);
  }

  /** Start-up: every partial-state room's completion. */
  async resumeAll(): Promise<void> {
    for (const r of await this.deps.storage.rooms.listPartialStateRooms()) this.start(r);
  }

  /** Whether the room's state is still partial. */
  async isPartial(roomId: RoomId): Promise<boolean> {
    return (await this.deps.storage.rooms.getPartialStateRoom(roomId)) !== null;
  }

  /**
   * Waits until the room's state is complete or `timeoutMs` passed; true when complete (at once for a room that is
   * not partial).
   */
  async waitForComplete(roomId: RoomId, timeoutMs: number): Promise<boolean> {
    if (!(await this.isPartial(roomId))) return true;
    let release!: () => void;
    const done = new Promise<void>((resolve) => { release = resolve; });
    let set = this.waiters.get(roomId);
    if (!set) this.waiters.set(roomId, (set = new Set()));
    set.add(release);
    this.wake(roomId);
    try {
      const bound = new AbortController();
      const onStop = () => bound.abort();
      this.stopping.signal.addEventListener("abort", onStop, { once: true });
      await Promise.race([done, this.deps.clock.sleep(timeoutMs, bound.signal)]).finally(() => {
        bound.abort();
        this.stopping.signal.removeEventListener("abort", onStop);
      });
    } finally {
      set.delete(release);
    }
    return !(await this.isPartial(roomId));
  }

  /** Shutdown: no new round starts, a back-off sleep or a `/members` wait ends now (a round under way ends at its next step). */
  stop(): void {
    this.stopping.abort();
  }

  /** How many waits (`/members`, `/joined_members`) wait for the room's completion now (tests). */
  waitingFor(roomId: RoomId): number {
    return this.waiters.get(roomId)?.size ?? 0;
  }

  /** The completions running now (tests). */
  whenIdle(): Promise<void> {
    return Promise.all([...this.running.values()]).then(() => {});
  }

  /**
   * Someone waits for the room: a completion sleeping in its back-off (up to 10 min after failures) tries again
   * now, at most once per WAKE_EVERY_MS per room, so that waiting clients cannot turn the back-off into a flood of
   * requests to the room's servers.
   */
  private wake(roomId: RoomId): void {
    const nap = this.naps.get(roomId);
    if (!nap) return;
    const now = this.deps.clock.now();
    if (now - (this.lastWake.get(roomId) ?? -Infinity) < WAKE_EVERY_MS) return;
    this.lastWake.set(roomId, now);
    nap.abort();
  }

  private release(roomId: RoomId): void {
    for (const f of this.waiters.get(roomId) ?? []) f();
  }

  private async loop(record: PartialStateRoom): Promise<void> {
    let wait = this.deps.retryMinMs ?? RETRY_MIN_MS;
    for (;;) {
      if (this.stopped) return;
      const current = await this.deps.storage.rooms.getPartialStateRoom(record.roomId).catch(() => null);
      if (!current) return;
      const outcome = await this.round(current).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (outcome === true || this.stopped) return;
      this.deps.log?.warn({ room_id: record.roomId, error: outcome, retry_ms: wait }, "partial state: completion failed; retrying");
      if (this.stopped) return;
      const nap = new AbortController();
      const onStop = () => nap.abort();
      this.stopping.signal.addEventListener("abort", onStop, { once: true });
      this.naps.set(record.roomId, nap);
      try {
        await this.deps.clock.sleep(wait, nap.signal);
      } finally {
        this.naps.delete(record.roomId);
        this.stopping.signal.removeEventListener("abort", onStop);
      }
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    }
  }

  /** One round of step 3 over every server; true when complete, else what failed. */
  private async round(record: PartialStateRoom): Promise<true | string> {
    const { storage } = this.deps;
    const room = await storage.rooms.getRoom(record.roomId);
    if (!room || !isKnownRoomVersion(room.roomVersion)) return `room ${record.roomId} is not stored with a known version`;
    const rules = roomVersion(room.roomVersion);
    const errors: string[] = [];
    for (const server of completionServers(record, this.deps.serverName)) {
      if (this.stopped) return "stopped";
      const full = await this.fetchFullState(server, record, rules).catch((e: unknown) => `${server}: ${e instanceof Error ? e.message : String(e)}`);
      if (typeof full === "string") {
        errors.push(full);
        continue;
      }
      return (await this.apply(record, full)) ? true : "stopped";
    }
    return errors.join("; ") || "no server to ask";
  }

  /** Steps 3a-3b: the full state before the join, its events stored. */
  private async fetchFullState(server: ServerName, record: PartialStateRoom, rules: RoomVersionRules): Promise<Map<StateKey, EventId>> {
    const { storage, remote } = this.deps;
    const { roomId, joinEventId } = record;
    const ids = await remote.client.getStateIds(server, roomId, joinEventId);
    const want = [...new Set([...ids.pduIds, ...ids.authChainIds])];
    const have = await storage.events.haveEvents(want);
    const missing = new Set(want.filter((id) => !have.has(id)));
    let fetched: Pdu[] = [];
    if (missing.size > FEW_MISSING) {
      const got = await remote.client.getState(server, roomId, joinEventId, rules);
      fetched = [...got.authChain, ...got.pdus].filter((p) => missing.has(p.eventId));
    } else {
      for (const id of missing) fetched.push(await remote.client.getEvent(server, id, rules));
    }
    const unique = [...new Map(fetched.map((p) => [p.eventId, p])).values()];
    const entries = await outlierEntries({ storage, remote, rules, roomId }, unique);
    if (entries.length > 0) await storage.events.persistEvents({ events: entries, receivedTs: this.deps.clock.now() });
    const stored = await storage.events.getEvents(ids.pduIds);
    const full = new Map<StateKey, EventId>();
    for (const id of ids.pduIds) {
      const e = stored.get(id);
      if (!e) throw new Error(`state event ${id} at the join was not returned or failed verification`);
      if (e.rejectionReason || e.pdu.stateKey === undefined) continue;
      full.set(stateKeyOf(e.pdu.type, e.pdu.stateKey), id);
    }
    if (!full.has(stateKeyOf("m.room.create", ""))) throw new Error("the state at the join has no m.room.create event");
    return full;
  }

  /** Steps 3c-3d; false when stopped before the write. */
  private async apply(record: PartialStateRoom, full: ReadonlyMap<StateKey, EventId>): Promise<boolean> {
    const { storage } = this.deps;
    const { roomId } = record;
    const result = await this.deps.inRoomQueue(roomId, async () => {
      if (this.stopped) return null;
      const atJoin = (await storage.state.getStateAtEvent(record.joinEventId, "before")) ?? new Map();
      const current = await storage.rooms.getCurrentState(roomId);
      const delta = completionDelta(full, atJoin, current);
      const r = await storage.events.persistEvents({
        events: [], receivedTs: this.deps.clock.now(),
        state: delta.current.size > 0 ? [{ roomId, set: delta.current }] : [],
        partialStateComplete: { roomId, fill: delta.fill },
      });
      return { maxOrdering: r.maxOrdering, added: [...delta.current.values()], filled: delta.fill.size };
    });
    if (!result) return false;
    this.deps.log?.info({ room_id: roomId, filled: result.filled, current_added: result.added.length }, "partial state: room complete");
    // No member ids: the omitted members are users of other servers, whom no local sync waits for by name.
    this.deps.notify(result.maxOrdering, roomId, []);
    return true;
  }
}
