/**
 * unread_notifications and unread_thread_notifications of a joined room
 * (https://spec.matrix.org/v1.16/client-server-api/#receiving-notifications): the events after the user's read
 * receipt that the user's push rules (core/push's evaluator) say notify, and those that highlight. Unthreaded
 * counts start from the newer of the unthreaded and the "main" receipt; with `unread_thread_notifications` each
 * thread counts from its own receipt (or the unthreaded one) and the room's counts hold only the main timeline.
 *
 * Counted when the room is in a response, reading at most MAX_UNREAD_SCAN events; a room with more unread events
 * reports the count over the newest ones (Synapse keeps per-event push actions in a table instead; docs/sync.md).
 */
import { PowerLevelView } from "../core/auth/index.js";
import type { Pdu } from "../core/events/index.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, evaluatePushRules, type PushRuleset, type UserPushRules } from "../core/push/index.js";
import type { StoredEvent, StreamOrdering } from "../storage/ports.js";
import type { SyncStorage } from "./rooms-provider.js";

export const MAX_UNREAD_SCAN = 1000;

export interface UnreadCounts {
  readonly room: { notification_count: number; highlight_count: number };
  readonly threads: Record<string, { notification_count: number; highlight_count: number }>;
}

const threadOf = (p: Pdu): string | null => {
  const raw = (p.content as JsonObject)["m.relates_to"];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const rel = raw as JsonObject;
  return rel["rel_type"] === "m.thread" && typeof rel["event_id"] === "string" ? rel["event_id"] : null;
};

export async function userRuleset(storage: SyncStorage, userId: UserId): Promise<PushRuleset> {
  const stored = ((await storage.pushRules.get(userId)) as unknown as UserPushRules | null) ?? NO_USER_PUSH_RULES;
  return effectivePushRuleset({ userId }, stored);
}

async function receiptOrdering(storage: SyncStorage, roomId: RoomId, userId: UserId, threadId: string | null): Promise<StreamOrdering> {
  let best = 0;
  for (const type of ["m.read", "m.read.private"]) {
    const r = await storage.receipts.get(roomId, userId, type, threadId);
    if (!r) continue;
    const pos = await storage.events.getRoomPosition(r.eventId);
    if (pos && pos.stream > best) best = pos.stream;
  }
  return best;
}

/**
 * Counts computed before, per (user, room, per-thread or not), so that a sync only evaluates the events after the
 * last count: valid while the receipts stream and the user's push rules have not moved since. In memory; a
 * restart counts again from the receipts. At most MAX_CACHED entries (then it starts afresh).
 */
export class UnreadCache {
  static readonly MAX_CACHED = 100_000;
  private readonly entries = new Map<string, CachedCounts & { readonly receipts: number; readonly rules: number }>();

  get(key: string, receipts: number, rules: number): CachedCounts | undefined {
    const e = this.entries.get(key);
    return e && e.receipts === receipts && e.rules === rules ? e : undefined;
  }

  set(key: string, receipts: number, rules: number, counted: CachedCounts): void {
    if (this.entries.size >= UnreadCache.MAX_CACHED) this.entries.clear();
    this.entries.set(key, { receipts, rules, ...counted });
  }
}

/** Counts up to a position, and the unthreaded receipt they counted from (fixed while receipts do not move). */
interface CachedCounts {
  readonly upTo: StreamOrdering;
  readonly unthreaded: StreamOrdering;
  readonly counts: UnreadCounts;
}

/** The room-wide inputs of the counts: the same for every member, so a caller may read them once for many. */
export interface UnreadRoomState {
  readonly powerLevels: Pdu | undefined;
  readonly create: Pdu | undefined;
  readonly joinedCount: number;
}

/** What a count may reuse: the cache, the receipts and push-rules positions it is valid for, shared reads. */
export interface UnreadReuse {
  readonly cache: UnreadCache;
  readonly receipts: number;
  readonly rules: number;
  /** The room's UnreadRoomState now. */
  readonly roomState?: () => Promise<UnreadRoomState>;
  /** The newest `limit` visible events of the room in (from, to], newest first. */
  readonly recent?: (from: StreamOrdering, limit: number) => Promise<readonly StoredEvent[]>;
}

const copy = (c: UnreadCounts): UnreadCounts => ({
  room: { ...c.room },
  threads: Object.fromEntries(Object.entries(c.threads).map(([k, v]) => [k, { ...v }])),
});

export async function unreadCounts(storage: SyncStorage, ruleset: PushRuleset, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean, reuse?: UnreadReuse): Promise<UnreadCounts> {
  const key = `${userId}|${roomId}|${perThread ? 1 : 0}`;
  const cached = reuse?.cache.get(key, reuse.receipts, reuse.rules);
  if (cached && cached.upTo === to) return copy(cached.counts);
  const base = cached && cached.upTo < to ? cached : undefined;
  // The receipt counted from is the cached one while the receipts stream has not moved.
  const unthreaded = cached?.unthreaded ?? Math.max(await receiptOrdering(storage, roomId, userId, null), await receiptOrdering(storage, roomId, userId, "main"));
  const result = await count(storage, ruleset, roomId, userId, to, perThread, unthreaded, base, reuse);
  reuse?.cache.set(key, reuse.receipts, reuse.rules, { upTo: to, unthreaded, counts: copy(result) });
  return result;
}

/** The room's UnreadRoomState now. */
export async function unreadRoomState(storage: SyncStorage, roomId: RoomId): Promise<UnreadRoomState> {
  const [plId, createId, joined] = await Promise.all([
    storage.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
    storage.rooms.getCurrentStateEventId(roomId, "m.room.create", ""),
    storage.roomClient.countRoomMembers([roomId], "join"),
  ]);
  const pdus = await storage.events.getPdus([plId, createId].filter((x): x is NonNullable<typeof x> => x !== null));
  return { powerLevels: plId ? pdus.get(plId) : undefined, create: createId ? pdus.get(createId) : undefined, joinedCount: joined.get(roomId) ?? 0 };
}

async function count(
  storage: SyncStorage,
  ruleset: PushRuleset,
  roomId: RoomId,
  userId: UserId,
  to: StreamOrdering,
  perThread: boolean,
  unthreaded: StreamOrdering,
  base: CachedCounts | undefined,
  reuse: UnreadReuse | undefined,
): Promise<UnreadCounts> {
  const floor = base?.upTo ?? 0;
  const from = Math.max(floor, perThread ? 0 : unthreaded);
  const recent = reuse?.recent ? await reuse.recent(from, MAX_UNREAD_SCAN) : ((await storage.events.getRoomsRecentEvents([roomId], { from, to, limit: MAX_UNREAD_SCAN })).get(roomId) ?? []);
  const start = base ? copy(base.counts) : { room: { notification_count: 0, highlight_count: 0 }, threads: {} };
  const room = start.room;
  const threads: Record<string, { notification_count: number; highlight_count: number }> = start.threads;
  if (recent.length === 0) return { room, threads };
  const [shared, memberId] = await Promise.all([
    reuse?.roomState ? reuse.roomState() : unreadRoomState(storage, roomId),
    storage.rooms.getCurrentStateEventId(roomId, "m.room.member", userId),
  ]);
  const member = memberId ? (await storage.events.getPdus([memberId])).get(memberId) : undefined;
  const { powerLevels: pl, create } = shared;
  const view = create ? new PowerLevelView(pl, create, create.roomVersion) : undefined;
  const notifications = pl && typeof (pl.content as JsonObject)["notifications"] === "object" ? ((pl.content as JsonObject)["notifications"] as Record<string, number>) : {};
  const displayName = member && typeof (member.content as JsonObject)["displayname"] === "string" ? ((member.content as JsonObject)["displayname"] as string) : null;
  const threadReceipts = new Map<string, StreamOrdering>();
  for (const e of recent) {
    const thread = perThread ? threadOf(e.pdu) : null;
    let from = unthreaded;
    if (thread !== null) {
      if (!threadReceipts.has(thread)) threadReceipts.set(thread, Math.max(unthreaded, await receiptOrdering(storage, roomId, userId, thread)));
      from = threadReceipts.get(thread)!;
    }
    if (e.streamOrdering <= from) continue;
    const outcome = evaluatePushRules(ruleset, e.pdu.raw, {
      userId,
      displayName,
      memberCount: shared.joinedCount,
      senderPowerLevel: view ? view.userLevel(e.pdu.sender) : 0,
      notificationPowerLevels: notifications,
    });
    if (!outcome?.notify) continue;
    const c = thread !== null ? (threads[thread] ??= { notification_count: 0, highlight_count: 0 }) : room;
    c.notification_count++;
    if (outcome.highlight) c.highlight_count++;
  }
  return { room, threads };
}
