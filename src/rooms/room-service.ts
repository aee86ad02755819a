/**
 * The one pipeline every local event passes through (remote events join it with federation, issue 14): one queue
 * per room (KeyedQueue), so a room's writes are serialised and rooms never wait on each other. Each write:
 *
 * 1. loads what the event needs: the room, its forward extremities, the state entries that authorise it;
 * 2. builds, signs and checks it against the auth rules with the state before it (local-event.ts, pure);
 * 3. persists it with its state group, the current-state change and the client transaction that asked for it
 *    in one storage call (EventStore.persistEvents);
 * 4. tells the notifier (for /sync).
 *
 * Room creation builds the whole planned chain (core/rooms planCreateRoom) in memory and persists it in one call.
 */
import { randomBytes } from "node:crypto";
import { PowerLevelView } from "../core/auth/index.js";
import type { Clock } from "../core/clock.js";
import { MatrixError } from "../core/errors.js";
import { signEvent, stateKeyOf, splitStateKey, type Pdu, type PduSigner, type StateKey } from "../core/events/index.js";
import type { EventId, RoomAlias, RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import { isKnownRoomVersion, roomVersion, type RoomVersionRules } from "../core/room-versions/index.js";
import { planCreateRoom, STRIPPED_STATE_TYPES, strippedOf, type CreateRoomPlan, type CreateRoomRequest } from "../core/rooms/index.js";
import { membershipOf, type Membership } from "../core/visibility/index.js";
import { UniqueViolationError, type ClientTxnKey, type EventToPersist, type PersistResult, type StateInput, type Storage } from "../storage/ports.js";
import { DUMMY_EVENT_TYPE, ExtremityMerger, type ExtremityPolicy } from "./extremities.js";
import { BackfillMemo, backfillFrontier, backfillServers, fetchBackfill, ingestBackfill, prepareBackfill, silentBackfillLog, type BackfillClient, type BackfillLog } from "./backfill.js";
import { KeyedQueue, type Batched } from "./keyed-queue.js";
import { PushActions } from "./push-actions.js";
import { buildLocalEvent, stateNeededFor, type LocalEventInput } from "./local-event.js";
import { silentNotifier, type RoomNotifier, type RoomOutbound } from "./notifier.js";
import { MISSING_EVENTS_BUDGET, PendingIngest, ingestChecked, ingestInBatch, verifyRemoteBatch, type IngestOutcome, type RemoteDeps, type RemoteEventClient } from "./remote-event.js";
import { PartialStateCompleter, type PartialStateClient, type PartialStateLog } from "./partial-state.js";
import { assertJoinFrom, assertVersionSupported, joinRemoteRoom, joinTemplate, type RemoteJoinClient } from "./remote-join.js";
import { knockRemoteRoom, receiveInvite, rejectRemoteInvite, sendInvite, storedOutOfBandEvents, wireOf, type InboundInvite, type RemoteInviteClient, type RemoteInviteContext } from "./remote-invite.js";
import { assertServerAllowedInRoom } from "./server-acl.js";
import type { TransactionAnswer } from "./transaction-gate.js";

/** /query/profile, for the profile a remote invitee's invite carries. */
export interface ProfileQueryClient {
  queryProfile(destination: ServerName, userId: UserId): Promise<{ displayname?: string; avatar_url?: string }>;
}

/** How long an invite waits for the remote invitee's profile before it goes without. */
export const REMOTE_PROFILE_TIMEOUT_MS = 5_000;

export type RoomStorage = Pick<Storage, "events" | "state" | "rooms" | "roomClient" | "relations" | "users" | "admin"> & Partial<Pick<Storage, "pushRules">>;

export interface RoomServiceDeps {
  readonly serverName: ServerName;
  readonly signer: PduSigner;
  readonly clock: Clock;
  readonly storage: RoomStorage;
  readonly notifier?: RoomNotifier;
  /** Where local events go over federation (absent: nowhere). */
  readonly outbound?: RoomOutbound;
  /**
   * Lets the event loop take one turn (app/: setImmediate) before a batch of a room's sends closes, so that the
   * sends already arrived on other connections join it. Absent: a batch takes what is queued when its turn comes.
   */
  readonly turn?: () => Promise<void>;
  /** Random opaque parts of minted ids (room ids, v1-v2 event ids). */
  readonly randomId?: () => string;
  /** Forward extremities kept bounded with dummy events (extremities.ts). Absent: no dummy events are sent. */
  readonly extremities?: ExtremityPolicy;
  /** Remote events (ingestRemote): the KeyRing and the FederationClient. Absent: remote PDUs are refused. */
  readonly remote?: RemoteDeps & { readonly client: RemoteEventClient & RemoteJoinClient & RemoteInviteClient & Partial<BackfillClient> & Partial<ProfileQueryClient> & { queryDirectory(destination: ServerName, alias: RoomAlias): Promise<{ roomId: RoomId; servers: ServerName[] }> } };
  /** Backfill's account of events it left out or rejected and of servers that failed (absent: not logged). */
  readonly backfillLog?: BackfillLog;
  /** Joins of remote rooms ask for members omitted (config federation.partial_joins; partial-state.ts). */
  readonly partialJoins?: boolean;
  /** The partial-state completion's log and first back-off (absent: not logged, RETRY_MIN_MS). */
  readonly partialState?: { readonly log?: PartialStateLog; readonly retryMinMs?: number };
}

/** A transaction PDU's outcome, keyed as /send answers it. */
export interface TransactionPduResult {
  readonly eventId: string;
  readonly outcome: IngestOutcome | { readonly ok: false; readonly error: string };
}

/**
 * What Zion answers while it cannot join, invite or knock over federation: Synapse's answer when it reaches none
 * of a room's servers (502 M_UNKNOWN "Failed to ... via any server").
 */
export function federationUnavailable(action: string, where: string): MatrixError {
  return new MatrixError("M_UNKNOWN", 502, `Failed to ${action} via any server: ${where} is on another server, and Zion cannot reach rooms over federation yet`);
}

/** PDUs RoomService keeps by event id for local sends (RoomService.pdus). */
const PDU_CACHE_SIZE = 2_000;

/** How long /members waits for a partial-state room's completion (RoomService.awaitFullState). */
export const MEMBERS_WAIT_MS = 60_000;

/** The most sends of one room written in one transaction (appendBatch). */
export const MAX_SEND_BATCH = 100;

type SendResult = { readonly pdu: Pdu | null; readonly eventId: EventId };

interface PendingSend {
  readonly txn: ClientTxnKey;
  readonly input: LocalEventInput;
}

const txnKeyOf = (t: ClientTxnKey): string => JSON.stringify([t.userId, t.deviceId, t.endpoint, t.roomId, t.txnId]);

const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

export class RoomService {
  /** One queue per room id. Exposed so tests can hold a room and prove that others proceed. */
  readonly queue = new KeyedQueue();
  private readonly notifier: RoomNotifier;
  private readonly randomId: () => string;

  private readonly merger: ExtremityMerger | undefined;
  /**
   * PDUs by event id (an event never changes once stored: redaction is applied on read), for what every local
   * send reads again: the create event, the power levels, the senders' member events and the forward extremities.
   */
  private readonly pdus = new Map<EventId, Pdu>();
  /** Push actions evaluated for every batch persisted through the pipeline (push-actions.ts); absent without push rules storage. */
  readonly pushActions: PushActions | undefined;
  private readonly deps: RoomServiceDeps;
  /** Completes rooms joined with members omitted (partial-state.ts); absent without federation. */
  readonly partialState: PartialStateCompleter | undefined;

  constructor(deps: RoomServiceDeps) {
    const pushRules = deps.storage.pushRules;
    const pushActions = pushRules ? new PushActions({ ...deps.storage, pushRules }, deps.serverName) : undefined;
    this.pushActions = pushActions;
    // Every persistEvents call of the pipeline (local sends, room creation, remote events, joins, invites) goes
    // through here, so each batch carries its push actions into its own transaction.
    // The wrappers inherit every other method (Object.create, a Proxy): a spread would copy own properties only and
    // lose the methods of a storage that is itself a wrapper (app/metrics.ts wraps events the same way).
    const events: Storage["events"] = Object.create(deps.storage.events, {
      persistEvents: {
        value: async (batch: Parameters<Storage["events"]["persistEvents"]>[0]) => {
          const withActions = await pushActions!.withActions(batch);
          const result = await deps.storage.events.persistEvents(withActions);
          pushActions!.persisted(withActions, result);
          return result;
        },
      },
    });
    this.deps = !pushActions ? deps : {
      ...deps,
      storage: new Proxy(deps.storage, { get: (target, prop, receiver) => (prop === "events" ? events : Reflect.get(target, prop, receiver)) }),
    };
    this.notifier = deps.notifier ?? silentNotifier;
    this.randomId = deps.randomId ?? (() => randomBytes(12).toString("base64url"));
    this.merger = deps.extremities && new ExtremityMerger(deps.extremities, {
      extremityCount: async (roomId) => (await deps.storage.rooms.getForwardExtremities(roomId)).length,
      sendDummyEvent: (roomId) => this.sendDummyEvent(roomId),
    });
    const remote = deps.remote;
    this.partialState = remote && new PartialStateCompleter({
      serverName: deps.serverName, storage: this.deps.storage, remote: { ...remote, client: remote.client as typeof remote.client & PartialStateClient }, clock: deps.clock,
      inRoomQueue: (roomId, fn) => this.queue.run(roomId, fn), notify: (max, roomId, events) => this.notifier.notify(max, roomId, events),
      ...(deps.partialState?.log ? { log: deps.partialState.log } : {}),
      ...(deps.partialState?.retryMinMs !== undefined ? { retryMinMs: deps.partialState.retryMinMs } : {}),
    });
  }

  /**
   * /members and /joined_members of a room joined with members omitted: waits until its state is complete, at most
   * MEMBERS_WAIT_MS; still partial then, 503 (a partial list would be wrong). At once for a complete room.
   */
  async awaitFullState(roomId: RoomId): Promise<void> {
    if (!this.partialState || (await this.partialState.waitForComplete(roomId, MEMBERS_WAIT_MS))) return;
    throw new MatrixError("M_UNKNOWN", 503, `the members of ${roomId} are still being fetched from its other servers (the room was joined with members omitted); retry later`);
  }

  /** Start-up: resumes the completion of every room joined with members omitted (partial-state.ts). */
  async resumePartialStateRooms(): Promise<void> {
    await this.partialState?.resumeAll();
  }

  /** Stops what runs in the background (the dummy-event checks, partial-state completions). */
  close(): void {
    this.merger?.close();
    this.partialState?.stop();
  }

  /**
   * One `org.matrix.dummy_event` citing the room's oldest forward extremities (up to 20), sent by the first local
   * member the auth rules let send it (extremities.ts); null when none may.
   */
  sendDummyEvent(roomId: RoomId): Promise<EventId | null> {
    return this.queue.run(roomId, async () => {
      const suffix = `:${this.deps.serverName}`;
      for (const member of await this.deps.storage.roomClient.getRoomMembers(roomId, "join")) {
        if (!member.endsWith(suffix)) continue;
        try {
          return (await this.append(roomId, { type: DUMMY_EVENT_TYPE, sender: member, content: {} }, undefined, { oldestFirst: true })).eventId;
        } catch (e) {
          if (!(e instanceof MatrixError && e.errcode === "M_FORBIDDEN")) throw e;
        }
      }
      return null;
    });
  }

  get serverName(): ServerName {
    return this.deps.serverName;
  }

  private mintEventId = (): string => `$${this.randomId()}:${this.deps.serverName}`;

  /** The room's rules, or null for a room this server does not know. */
  async rulesOf(roomId: RoomId): Promise<RoomVersionRules | null> {
    const room = await this.deps.storage.rooms.getRoom(roomId);
    if (!room) return null;
    return isKnownRoomVersion(room.roomVersion) ? roomVersion(room.roomVersion) : null;
  }

  /** The current state event at (type, state key), or null. */
  async currentStateEvent(roomId: RoomId, type: string, stateKey: string): Promise<Pdu | null> {
    const id = await this.deps.storage.rooms.getCurrentStateEventId(roomId, type, stateKey);
    if (!id) return null;
    return (await this.deps.storage.events.getPdus([id])).get(id) ?? null;
  }

  /** The user's current membership in the room (null: none). */
  async membership(roomId: RoomId, userId: UserId): Promise<Membership | null> {
    const ev = await this.currentStateEvent(roomId, "m.room.member", userId);
    return ev ? membershipOf(ev.content) : null;
  }

  // -------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------

  /** Builds, checks and persists one local event in its room's queue (steps 1-4). */
  send(roomId: RoomId, input: LocalEventInput): Promise<Pdu> {
    return this.queue.run(roomId, () => this.append(roomId, input));
  }

  /**
   * send() once per client transaction: a repeated (user, device, endpoint, room, txn id) gets the first event
   * back and stores nothing. The check and the write run in the room's queue, so concurrent repeats cannot both
   * write; the txn record is persisted in the event's own transaction, so a crash cannot leave the event
   * without it (a retry would make a second event). Should another writer have recorded the key meanwhile
   * (another process), the batch fails whole and its recorded event is returned.
   */
  sendOnce(txn: ClientTxnKey, input: LocalEventInput): Promise<{ pdu: Pdu | null; eventId: EventId }> {
    // Sends that are not state events, queued for one room while it is busy, are written together (appendBatch).
    if (input.stateKey === undefined) return this.queue.batch(txn.roomId, "sendOnce", { txn, input }, (items) => this.appendBatch(txn.roomId, items), {
        max: MAX_SEND_BATCH,
        ...(this.deps.turn ? { gather: this.deps.turn } : {}),
      });
    return this.queue.run(txn.roomId, () => this.appendOnce(txn, input));
  }

  /** sendOnce's work for one send, in the room's queue. */
  private async appendOnce(txn: ClientTxnKey, input: LocalEventInput): Promise<{ pdu: Pdu | null; eventId: EventId }> {
    const known = await this.deps.storage.roomClient.getClientTxn(txn);
    if (known) return { pdu: null, eventId: known };
    try {
      const pdu = await this.append(txn.roomId, input, txn);
      return { pdu, eventId: pdu.eventId };
    } catch (e) {
      if (!(e instanceof UniqueViolationError && e.what === "client transaction")) throw e;
      const raced = await this.deps.storage.roomClient.getClientTxn(txn);
      if (!raced) throw e;
      return { pdu: null, eventId: raced };
    }
  }

  /**
   * Several sends of one room (none a state event) in one write: each is built on the one before it (its only
   * prev event; the state before each is the room's current state, which none of them changes) and checked
   * alone, so one refused send refuses only itself; the events, their client transactions and their federation
   * queue rows go in one persistEvents call, and the notifier hears once. A repeated client transaction gets
   * the first event's id, as one at a time. Should another writer have recorded one of the keys meanwhile, the
   * sends are written one at a time instead.
   */
  private async appendBatch(roomId: RoomId, items: readonly Batched<PendingSend, SendResult>[]): Promise<void> {
    const { storage } = this.deps;
    const known = await Promise.all(items.map((b) => storage.roomClient.getClientTxn(b.item.txn)));
    const fresh: Batched<PendingSend, SendResult>[] = [];
    const repeats = new Map<string, Batched<PendingSend, SendResult>[]>();
    items.forEach((b, i) => {
      const id = known[i];
      if (id) return b.resolve({ pdu: null, eventId: id });
      const k = txnKeyOf(b.item.txn);
      const same = repeats.get(k);
      if (same) same.push(b);
      else {
        repeats.set(k, []);
        fresh.push(b);
      }
    });
    if (fresh.length === 0) return;
    // A send and its repeats in the batch settle together.
    const settle = (b: Batched<PendingSend, SendResult>, outcome: SendResult | Error) => {
      const same = repeats.get(txnKeyOf(b.item.txn)) ?? [];
      if (outcome instanceof Error) for (const x of [b, ...same]) x.reject(outcome);
      else {
        b.resolve(outcome);
        for (const r of same) r.resolve({ pdu: null, eventId: outcome.eventId });
      }
    };
    const built = await this.prepareChain(roomId, fresh.map((b) => b.item.input));
    const written: { b: Batched<PendingSend, SendResult>; pdu: Pdu }[] = [];
    built.pdus.forEach((r, i) => {
      if (r instanceof Error) settle(fresh[i]!, r);
      else written.push({ b: fresh[i]!, pdu: r });
    });
    if (written.length === 0) return;
    // Step 3
    const stateBefore: StateInput = built.extremities.length === 1 ? { after: built.extremities[0]! } : { state: await storage.rooms.getCurrentState(roomId) };
    // Not state events: every one goes where the first does.
    const destinations = (await this.deps.outbound?.destinationsFor(roomId, written[0]!.pdu)) ?? [];
    let result: PersistResult;
    try {
      result = await storage.events.persistEvents({
        events: written.map(({ pdu }, i) => ({ pdu, stateBefore: i === 0 ? stateBefore : { after: written[i - 1]!.pdu.eventId } })),
        receivedTs: this.deps.clock.now(),
        clientTxns: written.map(({ b, pdu }) => ({ key: b.item.txn, eventId: pdu.eventId })),
        ...(destinations.length > 0 ? { outbound: { destinations, eventIds: written.map(({ pdu }) => pdu.eventId) } } : {}),
      });
    } catch (e) {
      if (!(e instanceof UniqueViolationError && e.what === "client transaction")) throw e;
      for (const { b } of written) settle(b, await this.appendOnce(b.item.txn, b.item.input).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
      return;
    }
    if (destinations.length > 0) this.deps.outbound!.persisted(destinations);
    this.remember(written.at(-1)!.pdu); // the room's forward extremity now, which the next send cites
    // Step 4
    this.notify(result, roomId, written.map(({ pdu }) => pdu));
    for (const { b, pdu } of written) settle(b, { pdu, eventId: pdu.eventId });
  }

  /**
   * Steps 1-2 for events that follow one another and change no state: the room, its extremities and the state
   * their auth needs are read once; each event is built on the one before (the first on the extremities). A
   * refused event is its MatrixError in the result and the next is built on the last one accepted.
   */
  private async prepareChain(roomId: RoomId, inputs: readonly LocalEventInput[], opts: { oldestFirst?: boolean } = {}): Promise<{ pdus: (Pdu | Error)[]; extremities: readonly EventId[]; rules: RoomVersionRules | null }> {
    const { storage } = this.deps;
    // Step 1
    const rules = await this.rulesOf(roomId);
    if (!rules) return { pdus: inputs.map(() => MatrixError.notFound(`unknown room ${roomId}`)), extremities: [], rules };
    const extremities = await storage.rooms.getForwardExtremities(roomId);
    const keys = [...new Set(inputs.flatMap((input) => stateNeededFor(rules, input)))];
    const stateIds = await Promise.all(keys.map((k) => {
      const { type, stateKey } = splitStateKey(k);
      return storage.rooms.getCurrentStateEventId(roomId, type, stateKey);
    }));
    const pdus = await this.cachedPdus([...extremities, ...stateIds.filter((x): x is EventId => x !== null)]);
    const state = new Map<StateKey, Pdu>();
    keys.forEach((k, i) => {
      const p = stateIds[i] ? pdus.get(stateIds[i]!) : undefined;
      if (p) state.set(k, p);
    });
    let prev = extremities.map((id) => pdus.get(id)).filter((p): p is Pdu => p !== undefined);
    const out: (Pdu | Error)[] = [];
    // Step 2
    for (const input of inputs) {
      try {
        const first = out.length === 0;
        const pdu = buildLocalEvent(
          { rules, roomId, extremities: prev, state: (k) => state.get(k), nowTs: this.deps.clock.now(), signer: this.deps.signer, mintEventId: this.mintEventId, ...(first && opts.oldestFirst ? { oldestFirst: true } : {}) },
          input,
        );
        out.push(pdu);
        prev = [pdu];
      } catch (e) {
        out.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return { pdus: out, extremities, rules };
  }

  /** storage.events.getPdus through `this.pdus` (bounded: the oldest entries go first past PDU_CACHE_SIZE). */
  private async cachedPdus(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, Pdu>> {
    const out = new Map<EventId, Pdu>();
    const lacking: EventId[] = [];
    for (const id of ids) {
      const p = this.pdus.get(id);
      if (p) out.set(id, p);
      else lacking.push(id);
    }
    if (lacking.length > 0) {
      for (const [id, p] of await this.deps.storage.events.getPdus(lacking)) {
        out.set(id, p);
        this.remember(p);
      }
    }
    return out;
  }

  private remember(p: Pdu): void {
    this.pdus.set(p.eventId, p);
    if (this.pdus.size > PDU_CACHE_SIZE) this.pdus.delete(this.pdus.keys().next().value!);
  }

  private async append(roomId: RoomId, input: LocalEventInput, clientTxn?: ClientTxnKey, opts: { oldestFirst?: boolean } = {}): Promise<Pdu> {
    const { pdu, extremities } = await this.prepare(roomId, input, opts);
    return this.persistPrepared(roomId, pdu, extremities, clientTxn);
  }

  /** Steps 3-4 for an event prepare() built (in the same queue task, so the extremities are still the room's). */
  private async persistPrepared(roomId: RoomId, pdu: Pdu, extremities: readonly EventId[], clientTxn?: ClientTxnKey): Promise<Pdu> {
    const { storage } = this.deps;
    // Step 3: the state before is the room's current state (the state after its one extremity, the usual case).
    const stateBefore: StateInput = extremities.length === 1 ? { after: extremities[0]! } : { state: await storage.rooms.getCurrentState(roomId) };
    const destinations = (await this.deps.outbound?.destinationsFor(roomId, pdu)) ?? [];
    const result = await storage.events.persistEvents({
      events: [{ pdu, stateBefore }],
      state: pdu.stateKey !== undefined ? [{ roomId, set: new Map([[stateKeyOf(pdu.type, pdu.stateKey), pdu.eventId]]) }] : [],
      receivedTs: this.deps.clock.now(),
      ...(clientTxn ? { clientTxn: { key: clientTxn, eventId: pdu.eventId } } : {}),
      ...(destinations.length > 0 ? { outbound: { destinations, eventIds: [pdu.eventId] } } : {}),
    });
    if (destinations.length > 0) this.deps.outbound!.persisted(destinations);
    // Step 4
    this.notify(result, roomId, [pdu]);
    return pdu;
  }

  /** Steps 1-2: the signed event over the current state, not persisted (append, and make_join/make_leave templates). */
  private async prepare(roomId: RoomId, input: LocalEventInput, opts: { oldestFirst?: boolean } = {}): Promise<{ pdu: Pdu; extremities: readonly EventId[]; rules: RoomVersionRules }> {
    const { pdus, extremities, rules } = await this.prepareChain(roomId, [input], opts);
    const pdu = pdus[0]!;
    if (pdu instanceof Error) throw pdu;
    return { pdu, extremities, rules: rules! };
  }

  private notify(result: PersistResult, roomId: RoomId, events: readonly Pdu[]): void {
    this.notifier.notify(result.maxOrdering, roomId, events);
  }

  /**
   * Creates a room from a parsed /createRoom request: the planned events (core/rooms) built in order over the
   * state they make, all persisted in one call. `alias` (from room_alias_name) is reserved first and released if
   * the room cannot be written; an alias taken meanwhile is M_ROOM_IN_USE and writes nothing.
   */
  async createRoom(creator: UserId, req: CreateRoomRequest, opts: { alias?: RoomAlias } = {}): Promise<RoomId> {
    const profile = await this.deps.storage.users.getProfile(creator);
    const creatorProfile: Record<string, JsonValue> = {};
    if (profile?.displayname) creatorProfile["displayname"] = profile.displayname;
    if (profile?.avatarUrl) creatorProfile["avatar_url"] = profile.avatarUrl;
    const planned = planCreateRoom(req, { creator, ...(opts.alias ? { alias: opts.alias } : {}), creatorProfile });
    // Invitees of other servers are invited over federation once the room exists (step 8 of the plan is last).
    const isRemoteInvite = (t: { type: string; stateKey?: string | undefined; content: JsonObject }) =>
      t.type === "m.room.member" && t.content["membership"] === "invite" && t.stateKey !== undefined && !t.stateKey.endsWith(`:${this.deps.serverName}`);
    const remoteInvites = planned.events.filter(isRemoteInvite);
    const plan = remoteInvites.length === 0 ? planned : { ...planned, events: planned.events.filter((t) => !isRemoteInvite(t)) };
    const roomId = await this.createFromPlan(creator, plan, opts);
    for (const t of remoteInvites) {
      await this.invite(roomId, creator, t.stateKey as UserId, t.content["is_direct"] === true ? { isDirect: true } : {});
    }
    return roomId;
  }

  /** Builds a planned room (creation, or an upgrade's replacement room) and persists its chain in one call. */
  async createFromPlan(creator: UserId, plan: CreateRoomPlan, opts: { alias?: RoomAlias } = {}): Promise<RoomId> {
    const { storage, clock } = this.deps;
    const rules = plan.rules;
    let roomId: RoomId | undefined = plan.roomIdFromCreateEvent ? undefined : (`!${this.randomId()}:${this.deps.serverName}` as RoomId);
    const state = new Map<StateKey, Pdu>();
    const events: EventToPersist[] = [];
    let prev: Pdu | undefined;
    const nowTs = clock.now();
    for (const t of plan.events) {
      const pdu = buildLocalEvent(
        { rules, ...(roomId ? { roomId } : {}), extremities: prev ? [prev] : [], state: (k) => state.get(k), nowTs, signer: this.deps.signer, mintEventId: this.mintEventId },
        { type: t.type, sender: t.sender, content: t.content, stateKey: t.stateKey },
      );
      roomId ??= pdu.roomId;
      events.push({ pdu, stateBefore: prev ? { after: prev.eventId } : { state: new Map() } });
      state.set(stateKeyOf(pdu.type, t.stateKey), pdu);
      prev = pdu;
    }
    const id = roomId!;
    if (opts.alias) await this.reserveAlias(opts.alias, id, creator);
    let result: PersistResult;
    try {
      result = await this.queue.run(id, () =>
        storage.events.persistEvents({
          events,
          rooms: [{ roomId: id, roomVersion: rules.id, creator }],
          state: [{ roomId: id, set: new Map([...state].map(([k, p]) => [k, p.eventId])) }],
          receivedTs: clock.now(),
        }),
      );
    } catch (e) {
      if (opts.alias) await storage.roomClient.deleteAlias(opts.alias).catch(() => {});
      throw e;
    }
    if (plan.visibility === "public") await storage.roomClient.setPublished(id, true, clock.now());
    this.notify(result, id, events.map((e) => e.pdu));
    return id;
  }

  /** Points a local alias at a room; M_ROOM_IN_USE when the alias exists (400 for /createRoom, 409 for the directory). */
  async reserveAlias(alias: RoomAlias, roomId: RoomId, creator: UserId, takenStatus = 400): Promise<void> {
    try {
      await this.deps.storage.roomClient.createAlias({ alias, roomId, creator }, this.deps.clock.now());
    } catch (e) {
      if (e instanceof Error && e.name === "UniqueViolationError") throw new MatrixError("M_ROOM_IN_USE", takenStatus, `room alias ${alias} already exists`);
      throw e;
    }
  }

  /** One backfill per room at a time: a concurrent /messages waits for the running one (backfill.ts). */
  private readonly backfills = new Map<RoomId, Promise<number>>();
  /** Gaps whose backfill stored nothing lately: not asked for again until forgotten (backfill.ts). */
  private backfillMemo: BackfillMemo | undefined;

  /**
   * Older history of a room from its other servers (backfill.ts), for a short backwards /messages page: at most
   * `limit` events (capped at 100). Returns how many events were stored (0: no gap, no server answered, the same gap
   * failed lately, or no federation). The room's queue is held only to write what was fetched, never across a request.
   */
  backfill(roomId: RoomId, limit: number): Promise<number> {
    const running = this.backfills.get(roomId);
    if (running) return running;
    const log = this.deps.backfillLog ?? silentBackfillLog;
    const p = this.runBackfill(roomId, limit, log)
      .catch((e: unknown) => { log.warn({ room_id: roomId, error: e instanceof Error ? e.message : String(e) }, "backfill failed"); return 0; })
      .finally(() => this.backfills.delete(roomId));
    this.backfills.set(roomId, p);
    return p;
  }

  private async runBackfill(roomId: RoomId, limit: number, log: BackfillLog): Promise<number> {
    const remote = this.deps.remote;
    const client = remote?.client;
    if (!remote || !client?.backfill) return 0;
    const rules = await this.rulesOf(roomId);
    if (!rules) return 0;
    const storage = this.deps.storage;
    const frontier = await backfillFrontier({ storage, roomId });
    if (frontier.length === 0) return 0;
    const memo = (this.backfillMemo ??= new BackfillMemo(() => this.deps.clock.now()));
    const key = BackfillMemo.keyOf(roomId, frontier);
    if (memo.has(key)) return 0;
    let stored = 0;
    try {
      const servers = await backfillServers({ storage, roomId }, this.deps.serverName);
      const got = await fetchBackfill(client as BackfillClient, servers, roomId, frontier, limit, rules, log);
      if (!got) return 0;
      const ctx = { storage, remote, roomId, rules, origin: got.origin, nowTs: () => this.deps.clock.now(), persisted: () => {} };
      const prepared = await prepareBackfill(ctx, got.pdus, log);
      const ids = await this.queue.run(roomId, () => ingestBackfill(ctx, prepared, log));
      stored = ids.length;
      log.info({ room_id: roomId, origin: got.origin, received: got.pdus.length, stored }, "backfill");
      return stored;
    } finally {
      if (stored === 0) memo.remember(key);
    }
  }

  /**
   * Remote PDUs (a /send transaction, remote-event.ts): grouped by room, each room's share verified in one batch and
   * ingested in order in the room's queue, rooms in parallel. PDUs for rooms this server does not know, or whose
   * version it cannot read, get no result (the spec lets a server ignore them) unless their id can be read.
   */
  /**
   * A /send transaction's PDUs. `answer`: when they are all of one room that we hold, the transaction's answer
   * (`respond` over the results) is written in the storage transaction of the room's last write, and
   * `answer.slot.stored` says what storage kept (TransactionGate); otherwise it is left to the caller.
   */
  async ingestRemote(origin: ServerName, pdus: readonly unknown[], answer?: { readonly slot: TransactionAnswer; readonly respond: (results: readonly TransactionPduResult[]) => JsonObject }): Promise<TransactionPduResult[]> {
    const byRoom = new Map<RoomId, unknown[]>();
    const out: TransactionPduResult[] = [];
    for (const raw of pdus) {
      const roomId = isObj(raw) && typeof raw["room_id"] === "string" ? (raw["room_id"] as RoomId) : null;
      if (!roomId) continue;
      let list = byRoom.get(roomId);
      if (!list) byRoom.set(roomId, (list = []));
      list.push(raw);
    }
    const remote = this.deps.remote;
    const missingEventsBudget = { left: MISSING_EVENTS_BUDGET }; // shared by the transaction's rooms
    await Promise.all([...byRoom].map(async ([roomId, raws]) => {
      const rules = await this.rulesOf(roomId);
      if (!rules || !remote) {
        // A room not held: only an event stored already (an out-of-band invite the inviting server also sends with
        // the room's events) is answered ok; the others' ids can be read only in room versions 1-2.
        const verdicts = !rules && remote ? await storedOutOfBandEvents(this.deps.storage, this.deps.serverName, roomId, raws) : new Map<unknown, EventId>();
        for (const raw of raws) {
          const known = verdicts.get(raw);
          if (known) {
            out.push({ eventId: known, outcome: { eventId: known, ok: true, alreadyKnown: true } });
            continue;
          }
          const id = isObj(raw) && typeof raw["event_id"] === "string" ? raw["event_id"] : null;
          if (id) out.push({ eventId: id, outcome: { ok: false, error: rules ? "this server does not accept remote events" : `unknown room ${roomId}` } });
        }
        return;
      }
      const verdicts = await verifyRemoteBatch(remote.keys, raws.map((raw) => ({ raw, rules, roomId })));
      await this.queue.run(roomId, async () => {
        const partialState = (await this.deps.storage.rooms.getPartialStateRoom(roomId)) !== null;
        const ctx = {
          storage: this.deps.storage, remote, roomId, rules, origin, nowTs: () => this.deps.clock.now(), missingEventsBudget,
          persisted: (max: number, events: readonly Pdu[]) => this.notifier.notify(max, roomId, events), partialState,
        };
        // The room's PDUs are checked in order over what the earlier ones leave and written together (PendingIngest).
        const batch = new PendingIngest(ctx);
        await batch.prefetch(verdicts.flatMap((v) => (v.ok && v.pdu ? [v.pdu] : [])));
        const results: TransactionPduResult[] = [];
        for (const v of verdicts) {
          if (!v.ok || !v.pdu) {
            if (v.eventId) results.push({ eventId: v.eventId, outcome: { ok: false, error: v.failures.filter((f) => f.fatal).map((f) => `${f.check}: ${f.reason}`).join("; ") } });
            continue;
          }
          try {
            results.push({ eventId: v.pdu.eventId, outcome: await ingestInBatch(ctx, batch, v.pdu, { fillGaps: true, redacted: v.redacted }) });
          } catch (e) {
            results.push({ eventId: v.pdu.eventId, outcome: { ok: false, error: `could not process the event: ${e instanceof Error ? e.message : String(e)}` } });
          }
        }
        const final = () => results.map((r): TransactionPduResult => {
          const error = batch.failed.get(r.eventId as EventId);
          return error !== undefined ? { eventId: r.eventId, outcome: { ok: false, error } } : r;
        });
        // The answer with the last write when this room is the whole transaction (PDUs without a room id get none).
        const inboundTxn = answer && byRoom.size === 1 ? { origin, txnId: answer.slot.txnId, response: answer.respond(final()) } : undefined;
        const stored = await batch.flush(undefined, inboundTxn).catch(() => undefined); // a failed write is in batch.failed
        if (stored && answer) answer.slot.stored = stored;
        out.push(...final());
        if (this.merger) this.merger.note(roomId, (await this.deps.storage.rooms.getForwardExtremities(roomId)).length);
      });
    }));
    return out;
  }

  // -------------------------------------------------------------------------
  // Membership: the auth rules decide; these only shape the member events.
  // -------------------------------------------------------------------------

  /**
   * A remote user's displayname and avatar_url from /query/profile on their server, for the member event of an
   * invite; empty when the server does not answer within REMOTE_PROFILE_TIMEOUT_MS or answers with an error.
   */
  private async remoteProfileContent(userId: UserId): Promise<Record<string, JsonValue>> {
    const query = this.deps.remote?.client.queryProfile;
    if (!query) return {};
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        query.call(this.deps.remote!.client, userId.slice(userId.indexOf(":") + 1) as ServerName, userId),
        new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), REMOTE_PROFILE_TIMEOUT_MS); }),
      ]);
      const out: Record<string, JsonValue> = {};
      if (typeof answer?.displayname === "string") out["displayname"] = answer.displayname;
      if (typeof answer?.avatar_url === "string") out["avatar_url"] = answer.avatar_url;
      return out;
    } catch {
      return {};
    } finally {
      clearTimeout(timer);
    }
  }

  private async profileContent(userId: UserId): Promise<Record<string, JsonValue>> {
    const profile = await this.deps.storage.users.getProfile(userId);
    const out: Record<string, JsonValue> = {};
    if (profile?.displayname) out["displayname"] = profile.displayname;
    if (profile?.avatarUrl) out["avatar_url"] = profile.avatarUrl;
    return out;
  }

  private async requireRoom(roomId: RoomId, action: string, via: readonly string[] = []): Promise<RoomVersionRules> {
    const rules = await this.rulesOf(roomId);
    if (rules) return rules;
    const colon = roomId.indexOf(":");
    const remote = (colon >= 0 && roomId.slice(colon + 1) !== this.deps.serverName) || via.some((s) => s !== this.deps.serverName);
    if (remote) throw federationUnavailable(action, `room ${roomId}`);
    throw MatrixError.notFound(`unknown room ${roomId}`);
  }

  /**
   * Joins a local room (public, invited, knocked and accepted, or restricted through a room the user is in). A
   * join when already joined changes nothing and returns the current join. `via`: servers the client named
   * (a remote one means the room is remote: 502).
   */
  async join(roomId: RoomId, userId: UserId, opts: { reason?: string; via?: readonly string[] } = {}): Promise<EventId> {
    await this.refuseBlocked(roomId);
    const known = await this.rulesOf(roomId);
    if (!known && this.deps.remote && (await this.isRemote(roomId, opts.via, userId))) return this.joinRemote(roomId, userId, opts);
    const rules = await this.requireRoom(roomId, "join", opts.via);
    return this.queue.run(roomId, async () => {
      const current = await this.currentStateEvent(roomId, "m.room.member", userId);
      const content: Record<string, JsonValue> = { membership: "join", ...(await this.profileContent(userId)) };
      if (opts.reason !== undefined) content["reason"] = opts.reason;
      const currentMembership = current ? membershipOf(current.content) : null;
      if (current && currentMembership === "join") return current.eventId;
      if (rules.auth.restrictedJoins && currentMembership !== "invite") {
        const via = await this.restrictedAuthoriser(roomId, userId, rules);
        if (via) content["join_authorised_via_users_server"] = via;
      }
      const pdu = await this.append(roomId, { type: "m.room.member", stateKey: userId, sender: userId, content });
      await this.deps.storage.roomClient.setForgotten(userId, roomId, false);
      return pdu.eventId;
    });
  }

  private async isRemote(roomId: RoomId, via: readonly string[] = [], userId?: UserId): Promise<boolean> {
    const colon = roomId.indexOf(":");
    if ((colon >= 0 && roomId.slice(colon + 1) !== this.deps.serverName) || via.some((s) => s !== this.deps.serverName)) return true;
    return userId !== undefined && (await this.outOfBandInvite(roomId, userId)) !== null;
  }

  /** Servers to ask about a room this server does not hold: `via`, then `more`, then the room id's server; never this one. */
  private candidateServers(roomId: RoomId, via: readonly string[], more: readonly string[]): ServerName[] {
    const colon = roomId.indexOf(":");
    return [...new Set([...via, ...more, ...(colon >= 0 ? [roomId.slice(colon + 1)] : [])])].filter((s) => s !== this.deps.serverName) as ServerName[];
  }

  /** The user's out-of-band invite (or knock) of a room this server does not hold (remote-invite.ts), or null. */
  private async outOfBandInvite(roomId: RoomId, userId: UserId): Promise<Pdu | null> {
    const record = await this.deps.storage.rooms.getMembership(roomId, userId);
    if (!record || (record.membership !== "invite" && record.membership !== "knock")) return null;
    if (await this.deps.storage.rooms.getRoom(roomId)) return null;
    return (await this.deps.storage.events.getPdus([record.eventId])).get(record.eventId) ?? null;
  }

  private inviteContext(): RemoteInviteContext & { readonly client: RemoteInviteClient } {
    const remote = this.deps.remote!;
    return {
      serverName: this.deps.serverName, signer: this.deps.signer, storage: this.deps.storage, keys: remote.keys, client: remote.client,
      nowTs: () => this.deps.clock.now(), notify: (max, roomId, events) => this.notifier.notify(max, roomId, events),
      inRoomQueue: (roomId, fn) => this.queue.run(roomId, fn),
    };
  }

  /** PUT /v2/invite and /v1/invite (remote-invite.ts steps 1-6): the countersigned invite. */
  async receiveInvite(origin: ServerName, req: InboundInvite): Promise<JsonObject> {
    if (!this.deps.remote) throw MatrixError.forbidden("this server does not accept invites over federation");
    return receiveInvite(this.inviteContext(), origin, req);
  }

  /** A room this server does not hold: make_join / send_join through a resident server (remote-join.ts steps 3-6). */
  private async joinRemote(roomId: RoomId, userId: UserId, opts: { reason?: string; via?: readonly string[] }): Promise<EventId> {
    const remote = this.deps.remote!;
    // An out-of-band invite (received over federation): its sender's server knows the room.
    const invite = await this.outOfBandInvite(roomId, userId);
    const servers = this.candidateServers(roomId, opts.via ?? [], invite ? [invite.sender.slice(invite.sender.indexOf(":") + 1)] : []);
    const content: Record<string, JsonValue> = { membership: "join", ...(await this.profileContent(userId)) };
    if (opts.reason !== undefined) content["reason"] = opts.reason;
    return this.queue.run(roomId, async () => {
      const got = await joinRemoteRoom(
        { serverName: this.deps.serverName, signer: this.deps.signer, storage: this.deps.storage, remote, nowTs: () => this.deps.clock.now(), partialJoins: this.deps.partialJoins === true },
        roomId, userId, servers, content,
      );
      await this.deps.storage.roomClient.setForgotten(userId, roomId, false);
      this.notifier.notify(got.maxOrdering, roomId, [got.join]);
      // Members omitted: the rest of the state in the background (it queues behind this task for its last step).
      if (got.partialState) this.partialState?.start(got.partialState);
      return got.eventId;
    });
  }

  /** Another server's alias through its /query/directory (502 when it cannot be asked, 404 when it has none, 403 when it refuses us). */
  async resolveRemoteAlias(alias: RoomAlias): Promise<{ roomId: RoomId; servers: ServerName[] }> {
    const remote = this.deps.remote;
    const server = alias.slice(alias.indexOf(":") + 1) as ServerName;
    if (!remote) throw federationUnavailable("query directory", `alias ${alias}`);
    try {
      return await remote.client.queryDirectory(server, alias);
    } catch (e) {
      const status = e instanceof Error && "status" in e ? (e as { status?: number }).status : undefined;
      if (status === 404) throw MatrixError.notFound(`room alias ${alias} not found`);
      // The alias's server refuses us (its federation_domain_whitelist, an ACL): the same 403 a refused make_join
      // gives, rather than Synapse's 502, so the client can tell "not allowed" from "not reachable".
      if (status === 403) throw MatrixError.forbidden(`${server} refused to resolve ${alias}: ${e instanceof Error ? e.message : String(e)}`);
      throw new MatrixError("M_UNKNOWN", 502, `cannot resolve ${alias} through ${server}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** GET /make_join (remote-join.ts step 1): the join template for a user of another server. */
  makeJoin(origin: ServerName, roomId: RoomId, userId: UserId, ver: readonly string[]): Promise<{ room_version: string; event: JsonObject }> {
    return this.makeMembership(origin, roomId, userId, "join", ver);
  }

  /**
   * make_join, make_leave (no `ver`) and make_knock from `origin`: a room this server holds (404), whose
   * m.room.server_acl allows `origin` (403, server-acl.ts), in a version of `ver`; then the member event built over
   * the current state (403 when the auth rules refuse it), as a template.
   */
  async makeMembership(origin: ServerName, roomId: RoomId, userId: UserId, membership: "join" | "leave" | "knock", ver?: readonly string[]): Promise<{ room_version: string; event: JsonObject }> {
    const rules = await this.rulesOf(roomId);
    if (!rules) throw MatrixError.notFound(`unknown room ${roomId}`);
    await assertServerAllowedInRoom(this.deps.storage, roomId, origin);
    if (ver) assertVersionSupported(rules, ver);
    const { pdu } = await this.queue.run(roomId, async () => {
      const content: Record<string, JsonValue> = { membership };
      // A restricted join of a user of another server (this server authorising): a local member who may invite.
      if (membership === "join" && rules.auth.restrictedJoins && !["invite", "join"].includes((await this.membership(roomId, userId)) ?? "")) {
        const v = await this.restrictedVerdict(roomId, userId, rules);
        if (v.kind === "authorised") content["join_authorised_via_users_server"] = v.via;
        else if (v.kind !== "not-restricted" && v.kind !== "not-allowed") throw restrictedRefusal(v);
        // not-allowed: the auth rules refuse the join just below (403).
      }
      return this.prepare(roomId, { type: "m.room.member", stateKey: userId, sender: userId, content });
    });
    return { room_version: rules.id, event: joinTemplate(pdu) };
  }

  /**
   * send_leave (v2, answers {}) and send_knock (answers knock_room_state, the stripped state a knocking user is
   * shown): the event through the remote pipeline, which must accept it (403 otherwise).
   */
  async acceptSendMembership(origin: ServerName, roomId: RoomId, eventId: string, raw: unknown, membership: "leave" | "knock"): Promise<JsonObject> {
    await this.ingestMembership(origin, roomId, eventId, raw, membership);
    if (membership === "leave") return {};
    const { storage } = this.deps;
    const stripped: JsonObject[] = [];
    for (const type of STRIPPED_STATE_TYPES) {
      const id = await storage.rooms.getCurrentStateEventId(roomId, type, "");
      const p = id ? (await storage.events.getPdus([id])).get(id) : undefined;
      if (p) stripped.push(strippedOf(p));
    }
    return { knock_room_state: stripped };
  }

  /**
   * remote-join.ts step 2 for any membership: the room's m.room.server_acl must allow `origin` (403, before any key
   * is fetched for the event), shape checks, then the remote pipeline; the accepted event.
   */
  private async ingestMembership(origin: ServerName, roomId: RoomId, eventId: string, raw: unknown, membership: string): Promise<Pdu> {
    const rules = await this.rulesOf(roomId);
    const remote = this.deps.remote;
    if (!rules || !remote) throw MatrixError.notFound(`unknown room ${roomId}`);
    await assertServerAllowedInRoom(this.deps.storage, roomId, origin);
    raw = await this.authoriseRestrictedJoin(roomId, raw, rules, membership);
    const [v] = await verifyRemoteBatch(remote.keys, [{ raw, rules, roomId, eventId }]);
    if (!v || !v.ok || !v.pdu) throw new MatrixError("M_BAD_JSON", 400, `the ${membership} event fails its checks: ${(v?.failures ?? []).map((f) => `${f.check}: ${f.reason}`).join("; ")}`);
    const pdu = v.pdu;
    assertJoinFrom(pdu, origin, roomId, eventId, membership);
    const outcome = await this.queue.run(roomId, () => ingestChecked({
      storage: this.deps.storage, remote, roomId, rules, origin, nowTs: () => this.deps.clock.now(),
      persisted: (max, events) => this.notifier.notify(max, roomId, events),
      ...(this.deps.outbound ? { forwardTo: this.deps.outbound } : {}),
    }, pdu, { fillGaps: false, redacted: v.redacted }));
    if (!outcome.ok) throw MatrixError.forbidden(`the ${membership} is not allowed: ${outcome.error}`);
    if (outcome.softFailed) throw MatrixError.forbidden(`the ${membership} is not allowed by the room's current state`);
    return pdu;
  }

  /**
   * A restricted join naming a user of this server in join_authorised_via_users_server: this server signs it (the
   * signature receipt checks require), once the joining user meets the room's allow list here and the named user
   * is one who may authorise it (else 403). Other events are returned as they are.
   */
  private async authoriseRestrictedJoin(roomId: RoomId, raw: unknown, rules: RoomVersionRules, membership: string): Promise<unknown> {
    if (membership !== "join" || !rules.auth.restrictedJoins || !isObj(raw) || !isObj(raw["content"])) return raw;
    const via = raw["content"]["join_authorised_via_users_server"];
    if (typeof via !== "string" || !via.endsWith(`:${this.deps.serverName}`)) return raw;
    const sender = typeof raw["sender"] === "string" ? (raw["sender"] as UserId) : null;
    if (!sender) throw MatrixError.forbidden(`${via} cannot authorise a join without a sender`);
    const v = await this.restrictedVerdict(roomId, sender, rules, via as UserId);
    if (v.kind === "not-allowed" || v.kind === "not-restricted") throw MatrixError.forbidden(`${via} cannot authorise ${sender}'s join: ${v.kind === "not-allowed" ? v.reason : "the room's join rule is not restricted"}`);
    if (v.kind !== "authorised") throw restrictedRefusal(v);
    const { unsigned: _u, ...rest } = raw as Record<string, JsonValue>;
    return signEvent(rest, rules, this.deps.signer);
  }

  /**
   * PUT /v2/send_join (remote-join.ts step 2): the join through the remote pipeline, then the state before it
   * and its auth chain (wire PDUs): the full chain, or with `omit_members` the chain less the events in `state`.
   */
  async acceptSendJoin(origin: ServerName, roomId: RoomId, eventId: string, raw: unknown, opts: { omitMembers?: boolean } = {}): Promise<JsonObject> {
    const pdu = await this.ingestMembership(origin, roomId, eventId, raw, "join");
    const { storage } = this.deps;
    const before = (await storage.state.getStateAtEvent(pdu.eventId, "before")) ?? new Map();
    const stateIds = [...before].filter(([k]) => !opts.omitMembers || !k.startsWith("m.room.member\u0000") || k === stateKeyOf("m.room.member", pdu.sender)).map(([, id]) => id);
    // The auth chain is the whole chain of that state; only with omit_members may events already in `state` be left
    // out of it (the spec's send_join response). Dendrite, asking without omit_members, refuses a chain without the
    // create event.
    const inState = new Set(opts.omitMembers ? stateIds : []);
    const chain = [...(await storage.events.getAuthChainIds([...stateIds, ...pdu.authEvents]))].filter((id) => !inState.has(id));
    const pdus = await storage.events.getPdus([...stateIds, ...chain]);
    const wire = (id: EventId): JsonObject => {
      const p = pdus.get(id)!;
      const { unsigned: _u, ...rest } = p.raw as Record<string, JsonValue>;
      return rest;
    };
    const after = (await storage.state.getStateAtEvent(pdu.eventId, "after")) ?? new Map();
    const servers = new Set<string>();
    const members = await storage.events.getPdus([...after].filter(([k]) => k.startsWith("m.room.member\u0000")).map(([, id]) => id));
    for (const m of members.values()) if (m.content["membership"] === "join" && m.stateKey) servers.add(m.stateKey.slice(m.stateKey.indexOf(":") + 1));
    return {
      origin: this.deps.serverName,
      state: stateIds.filter((id) => pdus.has(id)).map(wire),
      auth_chain: chain.filter((id) => pdus.has(id)).map(wire),
      members_omitted: opts.omitMembers === true,
      servers_in_room: [...servers].sort(),
      // A restricted join this server authorised: the join with its signature, which the joining server lacks.
      ...(typeof pdu.content["join_authorised_via_users_server"] === "string" && pdu.content["join_authorised_via_users_server"].endsWith(`:${this.deps.serverName}`) ? { event: wireOf(pdu) } : {}),
    };
  }

  /**
   * Restricted joins (v8+) on this server: when the join rule is restricted (or knock_restricted) and the user is
   * joined to a room of the allow list, a local member who may invite authorises the join
   * (https://spec.matrix.org/v1.16/client-server-api/#restricted-rooms). Null when the rule is not restricted or
   * nobody can authorise (the auth rules then refuse).
   */
  private async restrictedAuthoriser(roomId: RoomId, userId: UserId, rules: RoomVersionRules): Promise<UserId | null> {
    const v = await this.restrictedVerdict(roomId, userId, rules);
    return v.kind === "authorised" ? v.via : null;
  }

  /**
   * Whether this server can authorise `userId`'s restricted join, as the spec's "Restricted rooms"
   * (https://spec.matrix.org/v1.16/server-server-api/#restricted-rooms) distinguishes the answers:
   * 1. the join rule is not restricted (nor knock_restricted where the room version has it): not-restricted;
   * 2. the user is joined, as this server sees it, to a room of the allow list (m.room_membership entries): go on;
   *    else, when some allowed room is one this server has no joined member in (so it cannot see who is joined
   *    there): unverifiable (400 M_UNABLE_TO_AUTHORISE_JOIN); else not-allowed (403, the auth rules refuse it);
   * 3. a local member joined with the power to invite (`prefer`, when the join names one) authorises it; none:
   *    no-authoriser (400 M_UNABLE_TO_GRANT_JOIN, the joining server should try another resident).
   */
  private async restrictedVerdict(roomId: RoomId, userId: UserId, rules: RoomVersionRules, prefer?: UserId): Promise<RestrictedVerdict> {
    // Step 1.
    const jr = await this.currentStateEvent(roomId, "m.room.join_rules", "");
    const rule = jr && isObj(jr.content) ? jr.content["join_rule"] : undefined;
    if (rule !== "restricted" && !(rule === "knock_restricted" && rules.auth.knockRestrictedJoinRule)) return { kind: "not-restricted" };
    // Step 2.
    const allow = jr && Array.isArray(jr.content["allow"]) ? jr.content["allow"] : [];
    const suffix = `:${this.deps.serverName}`;
    let allowed = false;
    const unseen: string[] = [];
    for (const a of allow) {
      if (!isObj(a) || a["type"] !== "m.room_membership" || typeof a["room_id"] !== "string") continue;
      const allowedRoom = a["room_id"] as RoomId;
      if ((await this.membership(allowedRoom, userId)) === "join") {
        allowed = true;
        break;
      }
      const residents = await this.deps.storage.roomClient.getRoomMembers(allowedRoom, "join");
      if (!residents.some((m) => m.endsWith(suffix))) unseen.push(allowedRoom);
    }
    if (!allowed) {
      return unseen.length > 0
        ? { kind: "unverifiable", reason: `${this.deps.serverName} is not in ${unseen.join(", ")} of the rooms the join rule allows, so cannot tell whether ${userId} may join` }
        : { kind: "not-allowed", reason: `${userId} is in none of the rooms the join rule allows` };
    }
    // Step 3.
    const [create, pl] = await Promise.all([this.currentStateEvent(roomId, "m.room.create", ""), this.currentStateEvent(roomId, "m.room.power_levels", "")]);
    const view = new PowerLevelView(pl ?? undefined, create ?? undefined, rules);
    const joined = await this.deps.storage.roomClient.getRoomMembers(roomId, "join");
    if (prefer !== undefined) {
      if (prefer.endsWith(suffix) && joined.includes(prefer) && view.userLevel(prefer) >= view.invite) return { kind: "authorised", via: prefer };
      return { kind: "no-authoriser", reason: `${prefer}, named in join_authorised_via_users_server, is not joined here with the power to invite (level ${view.invite})` };
    }
    for (const member of joined) {
      if (member.endsWith(suffix) && view.userLevel(member) >= view.invite) return { kind: "authorised", via: member };
    }
    return { kind: "no-authoriser", reason: `no user of ${this.deps.serverName} joined to the room has the power to invite (level ${view.invite}), so it cannot sign join_authorised_via_users_server` };
  }

  /**
   * Invites a user. A user of another server (remote-invite.ts steps 7-8): the invite is built and checked over the
   * current state, sent to the invitee's server, and persisted countersigned only when that server signed it; the
   * room's queue is held meanwhile (at most the federation client's timeout), so no event of the room is built on a
   * state the invite would change.
   */
  async invite(roomId: RoomId, sender: UserId, target: UserId, opts: { reason?: string; isDirect?: boolean } = {}): Promise<EventId> {
    await this.refuseBlocked(roomId);
    await this.requireRoom(roomId, "invite");
    const remote = !target.endsWith(`:${this.deps.serverName}`);
    if (remote && !this.deps.remote) throw federationUnavailable("invite", `user ${target}`);
    // The invitee's profile goes into the invite, as for local invitees (Synapse does the same): a remote one is
    // asked of its server before the room's queue is entered; no answer within the bound means no profile.
    const profile = remote ? await this.remoteProfileContent(target) : undefined;
    return this.queue.run(roomId, async () => {
      const current = await this.membership(roomId, target);
      if (current === "invite") return (await this.deps.storage.rooms.getCurrentStateEventId(roomId, "m.room.member", target))!;
      const content: Record<string, JsonValue> = { membership: "invite", ...(profile ?? await this.profileContent(target)) };
      if (opts.reason !== undefined) content["reason"] = opts.reason;
      if (opts.isDirect) content["is_direct"] = true;
      const input: LocalEventInput = { type: "m.room.member", stateKey: target, sender, content };
      if (!remote) return (await this.append(roomId, input)).eventId;
      const prepared = await this.prepare(roomId, input);
      const stripped: JsonObject[] = [];
      for (const type of STRIPPED_STATE_TYPES) {
        const p = await this.currentStateEvent(roomId, type, "");
        if (p) stripped.push(wireOf(p));
      }
      const countersigned = await sendInvite(this.inviteContext(), prepared.pdu, prepared.rules, stripped);
      return (await this.persistPrepared(roomId, countersigned, prepared.extremities)).eventId;
    });
  }

  /**
   * Knocks on a room (v7+ rooms whose join rule allows it; the auth rules decide). A room this server does not
   * hold, on another server: make_knock / send_knock through it (remote-invite.ts steps 11-12).
   */
  async knock(roomId: RoomId, userId: UserId, opts: { reason?: string; via?: readonly string[] } = {}): Promise<EventId> {
    const content: Record<string, JsonValue> = { membership: "knock", ...(await this.profileContent(userId)) };
    if (opts.reason !== undefined) content["reason"] = opts.reason;
    if (!(await this.rulesOf(roomId)) && this.deps.remote && (await this.isRemote(roomId, opts.via))) {
      const servers = this.candidateServers(roomId, opts.via ?? [], []);
      return this.queue.run(roomId, () => knockRemoteRoom(this.inviteContext(), roomId, userId, servers, content));
    }
    await this.requireRoom(roomId, "knock", opts.via);
    return (await this.send(roomId, { type: "m.room.member", stateKey: userId, sender: userId, content })).eventId;
  }

  /**
   * leave (target = sender), kick (leave of another user), ban, unban (leave of a banned user). The auth rules
   * decide who may; unban of a user who is not banned is refused here (it would be a kick).
   */
  async setMembership(roomId: RoomId, sender: UserId, target: UserId, action: "leave" | "kick" | "ban" | "unban", reason?: string): Promise<EventId> {
    if (action === "leave" && sender === target && this.deps.remote && !(await this.rulesOf(roomId))) {
      // Rejecting an invite (or withdrawing a knock) of a room this server does not hold: remote-invite.ts steps 9-10.
      const invite = await this.outOfBandInvite(roomId, target);
      if (invite) return this.queue.run(roomId, () => rejectRemoteInvite(this.inviteContext(), roomId, target, invite, reason));
    }
    await this.requireRoom(roomId, action);
    return this.queue.run(roomId, async () => {
      if (action === "unban" && (await this.membership(roomId, target)) !== "ban") throw MatrixError.forbidden(`${target} is not banned from ${roomId}`);
      const content: Record<string, JsonValue> = { membership: action === "ban" ? "ban" : "leave" };
      if (reason !== undefined) content["reason"] = reason;
      return (await this.append(roomId, { type: "m.room.member", stateKey: target, sender, content })).eventId;
    });
  }

  /** A room an admin blocked (admin API) cannot be joined or invited to: 403 M_FORBIDDEN, as in Synapse. */
  private async refuseBlocked(roomId: RoomId): Promise<void> {
    if (await this.deps.storage.admin.getRoomBlock(roomId)) throw MatrixError.forbidden(`This room has been blocked on this server: ${roomId}`);
  }

  /**
   * Deletes everything this server holds of the room (admin API room deletion), in the room's queue so that no
   * event of the room is being written meanwhile. The room's other servers keep their copies.
   */
  purge(roomId: RoomId): Promise<Readonly<Record<string, number>>> {
    return this.queue.run(roomId, () => this.deps.storage.admin.purgeRoom(roomId));
  }

  /** Forgets a room the user is not joined or invited to (400 M_UNKNOWN otherwise, as Synapse). */
  async forget(roomId: RoomId, userId: UserId): Promise<void> {
    // A room this server does not hold is known only through an out-of-band membership (a rejected remote invite).
    const m = (await this.membership(roomId, userId)) ?? ((await this.deps.storage.rooms.getMembership(roomId, userId))?.membership as Membership | undefined) ?? null;
    if (m === null && !(await this.rulesOf(roomId))) throw MatrixError.notFound(`unknown room ${roomId}`);
    if (m === "join" || m === "invite" || m === "knock") throw new MatrixError("M_UNKNOWN", 400, `${userId} is still in ${roomId} (membership ${m}); leave it first`);
    await this.deps.storage.roomClient.setForgotten(userId, roomId, true);
  }

  /**
   * A profile change: a new member event with the new displayname and avatar_url in every room the user is
   * joined to (the profile endpoints call this once they exist). Rooms where the auth rules refuse are skipped.
   */
  async updateProfileInJoinedRooms(userId: UserId): Promise<EventId[]> {
    const profile = await this.profileContent(userId);
    const out: EventId[] = [];
    for (const roomId of await this.deps.storage.rooms.getRoomsForUser(userId, "join")) {
      const id = await this.queue.run(roomId, async () => {
        const current = await this.currentStateEvent(roomId, "m.room.member", userId);
        if (!current || membershipOf(current.content) !== "join") return null;
        const content: Record<string, JsonValue> = { ...current.content, ...profile, membership: "join" };
        if (!("displayname" in profile)) delete content["displayname"];
        if (!("avatar_url" in profile)) delete content["avatar_url"];
        delete content["join_authorised_via_users_server"];
        try {
          return (await this.append(roomId, { type: "m.room.member", stateKey: userId, sender: userId, content })).eventId;
        } catch (e) {
          if (e instanceof MatrixError && e.errcode === "M_FORBIDDEN") return null;
          throw e;
        }
      });
      if (id) out.push(id);
    }
    return out;
  }
}

/** RoomService.restrictedVerdict's answers. */
type RestrictedVerdict =
  | { readonly kind: "not-restricted" }
  | { readonly kind: "authorised"; readonly via: UserId }
  | { readonly kind: "not-allowed"; readonly reason: string }
  | { readonly kind: "unverifiable"; readonly reason: string }
  | { readonly kind: "no-authoriser"; readonly reason: string };

/** The 400 a restricted join this server cannot authorise gets (make_join and send_join alike). */
function restrictedRefusal(v: Extract<RestrictedVerdict, { kind: "unverifiable" | "no-authoriser" }>): MatrixError {
  return v.kind === "unverifiable"
    ? new MatrixError("M_UNABLE_TO_AUTHORISE_JOIN", 400, v.reason)
    : new MatrixError("M_UNABLE_TO_GRANT_JOIN", 400, v.reason);
}
