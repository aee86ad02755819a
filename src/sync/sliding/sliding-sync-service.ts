/**
 * Simplified sliding sync (MSC4186,
 * https://github.com/matrix-org/matrix-spec-proposals/blob/main/proposals/4186-simplified-sliding-sync.md) over the
 * streams of /sync (docs/sliding-sync.md):
 *
 * 1. A `pos` names a position of the connection (user, device, `conn_id`) stored in the database: the stream token
 *    it answers from and what each room was last sent with. A `pos` this server did not issue to that connection,
 *    or one of a connection idle for CONNECTION_IDLE_MS, is 400 M_UNKNOWN_POS and the client starts over.
 * 2. The room list (room-list.ts) gives each list's count and windows and the relevant rooms with their combined
 *    configs; a relevant room is sent when the connection never sent it, sent it with updates left out, its
 *    membership changed, something happened in it after the pos, or its config now asks for more.
 * 3. Each room (room-data.ts), then the extensions (extensions.ts).
 * 4. Nothing to send, a pos and a timeout: wait on the Notifier (the user's rooms and own streams) and compute
 *    again, until news, the timeout or the client going away. A response with nothing in it answers with the same
 *    pos (nothing was sent, so the connection state stays); any other response stores a new position.
 */
import type { Clock } from "../../core/clock.js";
import { MatrixError } from "../../core/errors.js";
import type { RoomId, UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import type { RoomReads } from "../../rooms/index.js";
import type { SlidingSyncConnectionKey, SlidingSyncRoomState } from "../../storage/ports.js";
import type { Notifier } from "../notifier.js";
import type { PresenceState } from "../presence.js";
import type { PresenceTracker } from "../presence-tracker.js";
import { parseToken, serializeToken, type StreamToken } from "../token.js";
import type { TypingStream } from "../typing.js";
import { extensionsData } from "./extensions.js";
import type { SlidingRequest } from "./request.js";
import { fromJson, newlyWanted, sameConfig } from "./room-config.js";
import { roomData, sentAsDm, type RoomOutput } from "./room-data.js";
import { computeRoomList, type RelevantRoom } from "./room-list.js";
import type { SlidingStorage } from "./storage.js";
import { UnreadCache } from "../unread.js";
import { Timelines } from "../timelines.js";
import { splitStateKey } from "../../core/events/index.js";

/** A connection not used for a week is forgotten (Synapse expires them after a week too). */
export const CONNECTION_IDLE_MS = 7 * 24 * 3600 * 1000;
/** Connections kept per device; a new one past this drops the least recently used. */
export const MAX_CONNECTIONS_PER_DEVICE = 50;
/** Connections whose rooms are kept in memory (the least recently used goes first). */
const MAX_CACHED_CONNECTIONS = 5_000;
/** How many rooms are computed at once. */
const ROOM_CONCURRENCY = 20;

export interface SlidingSyncDeps {
  readonly storage: SlidingStorage;
  readonly reads: RoomReads;
  readonly notifier: Notifier;
  readonly typing: TypingStream;
  readonly clock: Clock;
  /** The position of every stream now (SyncService.currentToken). */
  readonly tokens: { currentToken(): Promise<StreamToken> };
  /** What `set_presence` does, as for /sync (PresenceTracker.syncing): the sync counts as under way until it answers. */
  readonly presence: Pick<PresenceTracker, "whileSyncing">;
}

export interface SlidingSyncCall {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly pos: string | null;
  readonly timeoutMs: number;
  readonly request: SlidingRequest;
  /** The MSC's `set_presence` (parseSetPresence: absent is online, as /sync). */
  readonly setPresence: PresenceState;
  readonly signal?: AbortSignal;
}

const unknownPos = () => new MatrixError("M_UNKNOWN_POS", 400, "Unknown position: this pos is unknown or expired; start the connection again without one");

interface Computed {
  readonly body: Record<string, JsonValue>;
  readonly news: boolean;
  readonly records: readonly SlidingSyncRoomState[];
  readonly counts: JsonObject;
  readonly following: ReadonlySet<RoomId>;
  readonly now: StreamToken;
}

export class SlidingSyncService {
  private readonly unread = new UnreadCache();
  /**
   * The rooms of each connection's newest position, so a request with that exact pos does not read them back
   * (positions are never reused, so a hit is always that position's state, whichever process wrote it).
   */
  private readonly connections = new Map<string, { position: number; rooms: ReadonlyMap<RoomId, SlidingSyncRoomState> }>();

  private remember(key: string, position: number, rooms: ReadonlyMap<RoomId, SlidingSyncRoomState>): void {
    this.connections.delete(key);
    if (this.connections.size >= MAX_CACHED_CONNECTIONS) this.connections.delete(this.connections.keys().next().value as string);
    this.connections.set(key, { position, rooms });
  }

  constructor(private readonly deps: SlidingSyncDeps) {
  }

  async sync(call: SlidingSyncCall): Promise<JsonObject> {
    return this.deps.presence.whileSyncing(call.userId, call.deviceId, call.setPresence, () => this.answer(call));
  }

  private async answer(call: SlidingSyncCall): Promise<JsonObject> {
    const { storage, clock } = this.deps;
    const key: SlidingSyncConnectionKey = { userId: call.userId, deviceId: call.deviceId, connId: call.request.connId };
    let base: { position: number; from: StreamToken; sent: ReadonlyMap<RoomId, SlidingSyncRoomState>; lists: JsonObject } | null = null;
    const cacheKey = `${key.userId}|${key.deviceId}|${key.connId}`;
    if (call.pos !== null) {
      if (!/^[1-9][0-9]{0,15}$/.test(call.pos)) throw unknownPos();
      const nowTs = clock.now();
      const position = Number(call.pos);
      const cached = this.connections.get(cacheKey);
      const hit = cached?.position === position ? cached : undefined;
      const loaded = await storage.slidingSync.loadPosition(key, position, nowTs, nowTs - CONNECTION_IDLE_MS, { withRooms: !hit });
      if (!loaded) {
        this.connections.delete(cacheKey);
        throw unknownPos();
      }
      const sent = hit?.rooms ?? loaded.rooms ?? new Map<RoomId, SlidingSyncRoomState>();
      base = { position: loaded.position, from: parseToken(loaded.token, "pos"), sent, lists: loaded.lists };
      this.remember(cacheKey, position, sent);
    }
    const deadline = clock.now() + call.timeoutMs;
    let result = await this.compute(call, base);
    while (!result.news && base !== null && !call.signal?.aborted) {
      const left = deadline - clock.now();
      if (left <= 0) break;
      const reason = await this.deps.notifier.wait({ userId: call.userId, rooms: result.following, token: result.now }, left, call.signal);
      if (reason === "aborted") break;
      result = await this.compute(call, base);
      if (reason === "timeout") break;
    }
    let pos = call.pos;
    if (base === null || result.news) {
      const saved = await storage.slidingSync.savePosition(key, { base: base?.position ?? null, token: serializeToken(result.now), lists: result.counts, rooms: result.records }, clock.now(), MAX_CONNECTIONS_PER_DEVICE);
      if (saved === null) throw unknownPos();
      pos = String(saved);
      const rooms = new Map(base?.sent ?? []);
      for (const r of result.records) rooms.set(r.roomId, r);
      this.remember(cacheKey, saved, rooms);
    }
    return { pos: pos!, ...result.body };
  }

  /** Whether a room already sent must be sent again because its config now asks for more. */
  private async widened(roomId: RoomId, sent: SlidingSyncRoomState, r: RelevantRoom): Promise<boolean> {
    const prev = fromJson(sent.config);
    if (!prev) return true;
    if (r.config.timelineLimit > prev.timelineLimit) return true;
    if (sameConfig(prev, r.config) || r.candidate.membership === "invite" || r.candidate.membership === "knock") return false;
    const state = await this.deps.storage.rooms.getCurrentState(roomId);
    return newlyWanted(prev, r.config, [...state.keys()].map(splitStateKey)).length > 0;
  }

  private async compute(call: SlidingSyncCall, base: { from: StreamToken; sent: ReadonlyMap<RoomId, SlidingSyncRoomState>; lists: JsonObject } | null): Promise<Computed> {
    const { storage, reads, clock } = this.deps;
    const now = await this.deps.tokens.currentToken();
    const from = base?.from ?? null;
    const fromEvents = from ? Math.min(from.events, now.events) : null;
    const sent = base?.sent ?? new Map<RoomId, SlidingSyncRoomState>();
    const list = await computeRoomList(storage, call.userId, call.request, now.events, sent);

    // Which relevant rooms go out.
    const toSend: [RoomId, RelevantRoom][] = [];
    for (const [roomId, r] of list.relevant) {
      const s = sent.get(roomId);
      const send = fromEvents === null || !s || s.status === "previously" || s.membership !== r.candidate.membership || r.candidate.activity > fromEvents || sentAsDm(s) !== list.dms.has(roomId) || (await this.widened(roomId, s, r));
      if (send) toSend.push([roomId, r]);
    }

    const ctx = {
      storage, reads, userId: call.userId, from: fromEvents, to: now.events, nowTs: clock.now(),
      unread: { cache: this.unread, receipts: now.receipts }, timelines: new Timelines(),
    };
    const outputs: [RoomId, RoomOutput][] = [];
    for (let i = 0; i < toSend.length; i += ROOM_CONCURRENCY) {
      const part = toSend.slice(i, i + ROOM_CONCURRENCY);
      const done = await Promise.all(part.map(([roomId, r]) => roomData(ctx, { candidate: r.candidate, config: r.config, lists: r.lists, isDm: list.dms.has(roomId), sent: sent.get(roomId) })));
      part.forEach(([roomId], j) => outputs.push([roomId, done[j]!]));
    }
    await ctx.timelines.fill(reads, { userId: call.userId, deviceId: call.deviceId }, ctx.nowTs);

    const rooms: Record<string, JsonObject> = {};
    const records: SlidingSyncRoomState[] = [];
    const initialRooms = new Map<RoomId, readonly string[]>();
    const sentNow = new Set<RoomId>();
    for (const [roomId, o] of outputs) {
      if (!o.body) continue;
      rooms[roomId] = o.body;
      records.push(o.state);
      sentNow.add(roomId);
      if (o.initial) initialRooms.set(roomId, o.timelineIds);
    }
    // Rooms sent before, not now, with updates after the pos: their updates are owed from the pos on.
    if (fromEvents !== null) {
      for (const [roomId, s] of sent) {
        if (s.status !== "live" || sentNow.has(roomId) || list.relevant.has(roomId)) continue;
        const c = list.candidates.get(roomId);
        if (c && (c.activity > fromEvents || c.membership !== s.membership)) records.push({ ...s, status: "previously", lastEvents: fromEvents });
      }
    }

    const lists: Record<string, JsonValue> = {};
    const counts: Record<string, number> = {};
    for (const [name, l] of list.lists) {
      counts[name] = l.count;
      lists[name] = { count: l.count, ops: l.windows.map((w) => ({ op: "SYNC", range: [...w.range], room_ids: [...w.roomIds] })) };
    }
    const countsChanged = base === null || JSON.stringify(counts) !== JSON.stringify(base.lists);

    const ext = await extensionsData({ storage, typing: this.deps.typing, userId: call.userId, deviceId: call.deviceId, req: call.request, list, from, now, initialRooms });
    const body: Record<string, JsonValue> = {};
    if (Object.keys(lists).length > 0) body["lists"] = lists;
    body["rooms"] = rooms;
    body["extensions"] = ext.body;
    const following = new Set<RoomId>();
    for (const c of list.candidates.values()) if (c.membership === "join" || c.membership === "invite" || c.membership === "knock") following.add(c.roomId);
    for (const r of list.relevant.keys()) following.add(r);
    const news = Object.keys(rooms).length > 0 || ext.news || countsChanged;
    return { body, news, records, counts, following, now };
  }
}
