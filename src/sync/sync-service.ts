/**
 * /sync v2 over the stream providers (docs/sync.md): the current token, what changed for one user and device
 * between a since-token and it, and long-polling on the notifier when nothing did.
 *
 * Sliding sync (MSC4186) is to reuse the same pieces: StreamToken positions, the Notifier's per-user and per-room
 * waiting, and the providers' reads between two positions.
 */
import type { Clock } from "../core/clock.js";
import { EMPTY_FILTER, eventFilterMatches, type Filter } from "../core/filters/index.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import type { RoomReads } from "../rooms/index.js";
import type { Notifier } from "./notifier.js";
import { presenceContent, type PresenceState } from "./presence.js";
import type { PresenceTracker } from "./presence-tracker.js";
import { RoomsProvider, type SyncStorage } from "./rooms-provider.js";
import { serializeToken, type StreamToken } from "./token.js";
import type { TypingStream } from "./typing.js";
import { receiptEvents } from "./receipts.js";
import { deviceListMembership, deviceListUpdates, sharingUsers } from "./device-lists.js";

/** The most to-device messages one response carries (Synapse sends 100 too); the rest follow in the next. */
export const TO_DEVICE_LIMIT = 100;

export interface SyncRequest {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly since: StreamToken | null;
  readonly filter?: Filter;
  readonly fullState?: boolean;
  readonly timeoutMs?: number;
  readonly stateAfterKey?: "state_after" | "org.matrix.msc4222.state_after" | null;
  readonly signal?: AbortSignal;
  /** set_presence (parseSetPresence: absent is online), recorded by PresenceTracker.syncing. */
  readonly setPresence: PresenceState;
}

export interface SyncServiceDeps {
  readonly storage: SyncStorage;
  readonly reads: RoomReads;
  readonly notifier: Notifier;
  readonly typing: TypingStream;
  readonly clock: Clock;
  /** Local presence: what a sync's set_presence does, and the sync counted as under way while it waits. */
  readonly presence: Pick<PresenceTracker, "whileSyncing">;
  /** presence.enabled: false sends no presence (and the tracker records none). */
  readonly presenceEnabled?: boolean;
}

export class SyncService {
  private readonly rooms: RoomsProvider;
  /** The current token read for the requests woken in one notifier round (docs/sync.md). */
  private roundToken: { readonly round: number; readonly token: Promise<StreamToken> } | null = null;

  constructor(private readonly deps: SyncServiceDeps) {
    this.rooms = new RoomsProvider(deps.storage, deps.reads);
  }

  /** The position of every stream now. Persisted streams read storage, so this holds across restarts. */
  async currentToken(): Promise<StreamToken> {
    const s = this.deps.storage;
    const [events, accountData, toDevice, deviceLists] = await Promise.all([s.events.maxStreamOrdering(), s.accountData.maxPosition(), s.toDevice.maxPosition(), s.e2ee.maxDeviceListPosition()]);
    const [receipts, presence] = await Promise.all([s.receipts.maxPosition(), s.presence.maxPosition()]);
    return { events, accountData, toDevice, deviceLists, typing: this.deps.typing.current(), receipts, presence };
  }

  /**
   * One /sync answer. Incremental with nothing new and a timeout: waits on the notifier (woken by the room
   * pipeline, typing, to-device, ...) until something arrives, the timeout passes or the client goes away, then
   * answers from the same `since`.
   */
  async sync(req: SyncRequest): Promise<JsonObject> {
    return this.deps.presence.whileSyncing(req.userId, req.deviceId, req.setPresence, () => this.answer(req));
  }

  private async answer(req: SyncRequest): Promise<JsonObject> {
    const deadline = this.deps.clock.now() + (req.timeoutMs ?? 0);
    let woken = false;
    for (;;) {
      const { body, empty, following, token } = await this.compute(req, woken ? this.tokenOfRound() : this.currentToken());
      const left = deadline - this.deps.clock.now();
      if (!empty || req.since === null || req.fullState || left <= 0 || req.signal?.aborted) return body;
      const reason = await this.deps.notifier.wait({ userId: req.userId, rooms: following, token }, left, req.signal);
      if (reason !== "notified") return (await this.compute(req, this.currentToken())).body;
      woken = true;
    }
  }

  /**
   * The current token, read once per notifier round: the requests one report wakes resume in the same round and
   * would each read the same positions, since nothing was reported in between; the first to resume reads them
   * (after the report, so they cover what woke everyone) and the others share the read.
   */
  private tokenOfRound(): Promise<StreamToken> {
    const round = this.deps.notifier.round();
    if (this.roundToken?.round !== round) {
      const token = this.currentToken();
      this.roundToken = { round, token };
      token.catch(() => {
        if (this.roundToken?.token === token) this.roundToken = null;
      });
    }
    return this.roundToken.token;
  }

  private async compute(req: SyncRequest, current: Promise<StreamToken>): Promise<{ body: JsonObject; empty: boolean; following: ReadonlySet<RoomId>; token: StreamToken }> {
    const { storage } = this.deps;
    const filter = req.filter ?? EMPTY_FILTER;
    const now = await current;
    // A token ahead of a stream (from before a restart of the in-memory typing stream, or forged) is bounded by now.
    const since = req.since;
    const next: Record<keyof StreamToken, number> = { ...now };

    // A stream that has not moved past the token has nothing new: not read (the common case of a woken request).
    const [accountData, toDevice, otkCounts, fallbackTypes] = await Promise.all([
      since && since.accountData >= now.accountData ? [] : storage.accountData.changesSince(req.userId, since ? Math.min(since.accountData, now.accountData) : 0),
      since && since.toDevice >= now.toDevice ? { messages: [], position: since.toDevice } : storage.toDevice.inbox(req.userId, req.deviceId, since ? since.toDevice : 0, TO_DEVICE_LIMIT),
      storage.e2ee.oneTimeKeyCounts(req.userId, req.deviceId),
      storage.e2ee.unusedFallbackKeyTypes(req.userId, req.deviceId),
    ]);
    // Messages at or below the token the client sent back have been received: delete them.
    if (since && since.toDevice > 0) await storage.toDevice.acknowledge(req.userId, req.deviceId, since.toDevice);
    // Both streams are read up to whatever is there, which may be past `now` (read a moment before, or shared by
    // the requests of one notifier round): the token covers what is sent, so nothing is sent twice.
    if (toDevice.messages.length >= TO_DEVICE_LIMIT) next.toDevice = toDevice.position;
    else next.toDevice = Math.max(now.toDevice, since?.toDevice ?? 0, toDevice.position);
    for (const e of accountData) if (e.position > next.accountData) next.accountData = e.position;

    const joinedForTyping = await storage.rooms.getRoomsForUser(req.userId, "join");
    const ephemeral = new Map<RoomId, JsonObject[]>();
    const add = (roomId: RoomId, e: JsonObject) => {
      let l = ephemeral.get(roomId);
      if (!l) ephemeral.set(roomId, (l = []));
      l.push(e);
    };
    for (const [roomId, users] of this.deps.typing.changesSince(joinedForTyping, since ? since.typing : 0)) add(roomId, { type: "m.typing", content: { user_ids: users } });
    for (const [roomId, content] of await receiptEvents(storage, req.userId, joinedForTyping, since ? Math.min(since.receipts, now.receipts) : 0, now.receipts)) add(roomId, { type: "m.receipt", content });

    const rooms = await this.rooms.sections({
      userId: req.userId,
      deviceId: req.deviceId,
      since: since ? Math.min(since.events, now.events) : null,
      to: now.events,
      filter: filter.room,
      fullState: req.fullState ?? false,
      stateAfterKey: req.stateAfterKey ?? null,
      nowTs: this.deps.clock.now(),
      ephemeral,
      receiptsPosition: now.receipts,
      roomAccountData: accountData.filter((e) => e.roomId !== null),
      joined: joinedForTyping,
    });

    const global = accountData.filter((e) => e.roomId === null && eventFilterMatches(filter.account_data, { type: e.type })).map((e) => ({ type: e.type, content: e.content }));

    // Users sharing a joined room with us (and ourselves): whose device-list changes and presence we see.
    let audience: Promise<Set<UserId>> | undefined;
    const sharing = (): Promise<Set<UserId>> => (audience ??= sharingUsers(storage, req.userId, joinedForTyping));
    let { changed } = since ? await deviceListUpdates(storage, Math.min(since.deviceLists, now.deviceLists), now.deviceLists, sharing) : { changed: [] as string[] };
    // Users who newly share a room (changed) and who share none any more (left), from the membership changes.
    let left: string[] = [];
    if (since && now.events > since.events) {
      const m = await deviceListMembership(storage, req.userId, Math.min(since.events, now.events), now.events, joinedForTyping, sharing);
      left = m.left;
      if (m.newlyShared.length > 0) changed = [...new Set([...changed, ...m.newlyShared])];
      if (left.length > 0) changed = changed.filter((u) => !left.includes(u));
    }
    const presenceFrom = since ? Math.min(since.presence, now.presence) : 0;
    const nowTs = this.deps.clock.now();
    const presence: JsonObject[] = [];
    if (this.deps.presenceEnabled !== false && now.presence > presenceFrom) {
      for (const p of await storage.presence.changesSince([...(await sharing())], presenceFrom, now.presence)) {
        if (!eventFilterMatches(filter.presence, { type: "m.presence", sender: p.userId })) continue;
        presence.push({
          type: "m.presence",
          sender: p.userId,
          content: presenceContent(p, nowTs),
        });
      }
    }

    const body: Record<string, JsonValue> = {
      next_batch: serializeToken(next),
      rooms: { join: rooms.join, invite: rooms.invite, leave: rooms.leave, knock: rooms.knock },
      account_data: { events: global },
      presence: { events: presence },
      to_device: { events: [...toDevice.messages] },
      device_lists: { changed, left },
      // signed_curve25519 always, 0 included (as Synapse): matrix-sdk-crypto only updates its count when it is
      // present, so without it a device whose keys were all claimed would never upload new ones.
      device_one_time_keys_count: { signed_curve25519: 0, ...otkCounts },
      device_unused_fallback_key_types: [...fallbackTypes],
    };
    const empty = rooms.empty && global.length === 0 && toDevice.messages.length === 0 && changed.length === 0 && left.length === 0 && presence.length === 0;
    return { body, empty, following: rooms.following, token: next };
  }
}
