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
import type { StreamOrdering } from "../storage/ports.js";
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
  private readonly entries = new Map<string, { readonly receipts: number; readonly rules: number; readonly upTo: StreamOrdering; readonly counts: UnreadCounts }>();

  get(key: string, receipts: number, rules: number) {
    const e = this.entries.get(key);
    return e && e.receipts === receipts && e.rules === rules ? e : undefined;
  }

  set(key: string, receipts: number, rules: number, upTo: StreamOrdering, counts: UnreadCounts): void {
    if (this.entries.size >= UnreadCache.MAX_CACHED) this.entries.clear();
    this.entries.set(key, { receipts, rules, upTo, counts });
  }
}

/** What a count may reuse: the cache, and the receipts and push-rules positions it is valid for. */
export interface UnreadReuse {
  readonly cache: UnreadCache;
  readonly receipts: number;
  readonly rules: number;
}

const copy = (c: UnreadCounts): UnreadCounts => ({
  room: { ...c.room },
  threads: Object.fromEntries(Object.entries(c.threads).map(([k, v]) => [k, { ...v }])),
});

export async function unreadCounts(storage: SyncStorage, ruleset: PushRuleset, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean, reuse?: UnreadReuse): Promise<UnreadCounts> {
  const key = `${userId}|${roomId}|${perThread ? 1 : 0}`;
  const cached = reuse?.cache.get(key, reuse.receipts, reuse.rules);
  if (cached && cached.upTo === to) return copy(cached.counts);
  const result = await count(storage, ruleset, roomId, userId, to, perThread, cached && cached.upTo < to ? cached : undefined);
  reuse?.cache.set(key, reuse.receipts, reuse.rules, to, copy(result));
  return result;
}

async function count(storage: SyncStorage, ruleset: PushRuleset, roomId: RoomId, userId: UserId, to: StreamOrdering, perThread: boolean, base: { upTo: StreamOrdering; counts: UnreadCounts } | undefined): Promise<UnreadCounts> {
  const unthreaded = Math.max(await receiptOrdering(storage, roomId, userId, null), await receiptOrdering(storage, roomId, userId, "main"));
  const floor = base?.upTo ?? 0;
  const recent = (await storage.events.getRoomsRecentEvents([roomId], { from: Math.max(floor, perThread ? 0 : unthreaded), to, limit: MAX_UNREAD_SCAN })).get(roomId) ?? [];
  const start = base ? copy(base.counts) : { room: { notification_count: 0, highlight_count: 0 }, threads: {} };
  const room = start.room;
  const threads: Record<string, { notification_count: number; highlight_count: number }> = start.threads;
  if (recent.length === 0) return { room, threads };
  const [plId, createId, memberId, joined] = await Promise.all([
    storage.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
    storage.rooms.getCurrentStateEventId(roomId, "m.room.create", ""),
    storage.rooms.getCurrentStateEventId(roomId, "m.room.member", userId),
    storage.roomClient.countRoomMembers([roomId], "join"),
  ]);
  const state = await storage.events.getPdus([plId, createId, memberId].filter((x): x is NonNullable<typeof x> => x !== null));
  const pl = plId ? state.get(plId) : undefined;
  const create = createId ? state.get(createId) : undefined;
  const member = memberId ? state.get(memberId) : undefined;
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
      memberCount: joined.get(roomId) ?? 0,
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
