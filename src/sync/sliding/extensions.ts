/**
 * Sliding-sync extensions, as Synapse serves them (MSC3885 to-device, MSC3884 e2ee, MSC3959 account data, MSC3960
 * receipts, MSC3961 typing), over the same stores and streams as /sync:
 *
 * - `to_device`: this device's messages after the extension's own `since` (those at or below it are acknowledged
 *   and deleted), at most `limit`; `next_batch` to send back as the next `since`.
 * - `e2ee`: one-time key counts and unused fallback key types always; `device_lists` after the request's pos,
 *   computed as /sync computes them (src/sync/device-lists.ts): `changed` for key changes of users sharing a joined
 *   room and for users who newly share one, `left` for users who share none any more.
 * - `account_data`: global entries changed after the pos (all of them on the connection's first request); per room,
 *   for the rooms in scope, entries changed after the pos, and all of them for rooms sent `initial` now.
 * - `receipts`, `typing`: for the rooms in scope, what changed after the pos; for rooms sent `initial` now, the
 *   receipts on their timeline events and the user's own, and who is typing.
 *
 * The scope of the last three is the rooms of the named lists' windows and of the named subscriptions (`*` or
 * absent: all of them).
 */
import type { RoomId, UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import { deviceListMembership, deviceListUpdates, sharingUsers } from "../device-lists.js";
import { receiptEvents } from "../receipts.js";
import type { StreamToken } from "../token.js";
import type { TypingStream } from "../typing.js";
import type { ExtensionScope, SlidingRequest } from "./request.js";
import type { RoomListResult } from "./room-list.js";
import type { SlidingStorage } from "./storage.js";

export interface ExtensionsInput {
  readonly storage: SlidingStorage;
  readonly typing: TypingStream;
  readonly userId: UserId;
  readonly deviceId: string;
  readonly req: SlidingRequest;
  readonly list: RoomListResult;
  readonly from: StreamToken | null;
  readonly now: StreamToken;
  /** Rooms sent with `initial` in this response, with the timeline event ids sent. */
  readonly initialRooms: ReadonlyMap<RoomId, readonly string[]>;
}

export interface ExtensionsOutput {
  readonly body: JsonObject;
  /** Whether any extension carries news (e2ee key counts alone are not news). */
  readonly news: boolean;
}

function scopeRooms(scope: ExtensionScope, list: RoomListResult): RoomId[] {
  const out = new Set<RoomId>();
  for (const [roomId, r] of list.relevant) {
    const inLists = scope.lists === null ? r.lists.length > 0 : r.lists.some((l) => scope.lists!.includes(l));
    const inSubs = r.subscribed && (scope.rooms === null || scope.rooms.includes(roomId));
    if (inLists || inSubs) out.add(roomId);
  }
  return [...out];
}

export async function extensionsData(x: ExtensionsInput): Promise<ExtensionsOutput> {
  const { storage, req, from, now, userId } = x;
  const body: Record<string, JsonValue> = {};
  let news = false;
  const joined = [...x.list.candidates.values()].filter((c) => c.membership === "join").map((c) => c.roomId);

  const td = req.extensions.toDevice;
  if (td) {
    const since = td.since ?? 0;
    if (since > 0) await storage.toDevice.acknowledge(userId, x.deviceId, since);
    const inbox = await storage.toDevice.inbox(userId, x.deviceId, since, td.limit);
    const next = inbox.messages.length >= td.limit ? inbox.position : Math.max(now.toDevice, since);
    body["to_device"] = { next_batch: String(next), events: [...inbox.messages] };
    if (inbox.messages.length > 0) news = true;
  }

  if (req.extensions.e2ee) {
    const [counts, fallback] = await Promise.all([storage.e2ee.oneTimeKeyCounts(userId, x.deviceId), storage.e2ee.unusedFallbackKeyTypes(userId, x.deviceId)]);
    // signed_curve25519 always present, as Synapse sends it (clients tell "no keys" from "not reported" by it).
    const e2ee: Record<string, JsonValue> = { device_one_time_keys_count: { signed_curve25519: 0, ...counts }, device_unused_fallback_key_types: [...fallback] };
    if (from) {
      let audience: Promise<Set<UserId>> | undefined;
      const sharing = (): Promise<Set<UserId>> => (audience ??= sharingUsers(storage, userId, joined));
      let { changed } = await deviceListUpdates(storage, Math.min(from.deviceLists, now.deviceLists), now.deviceLists, sharing);
      // The membership side, as /sync computes it: users who newly share a joined room are `changed` (their keys
      // must be fetched), users who share none any more are `left`.
      let left: string[] = [];
      const since = Math.min(from.events, now.events);
      if (now.events > since) {
        const m = await deviceListMembership(storage, userId, since, now.events, joined, sharing);
        left = m.left;
        if (m.newlyShared.length > 0) changed = [...new Set([...changed, ...m.newlyShared])];
        if (left.length > 0) changed = changed.filter((u) => !left.includes(u));
      }
      e2ee["device_lists"] = { changed, left };
      if (changed.length > 0 || left.length > 0) news = true;
    }
    body["e2ee"] = e2ee;
  }

  const ad = req.extensions.accountData;
  if (ad) {
    const rooms = new Set(scopeRooms(ad, x.list));
    const changed = await storage.accountData.changesSince(userId, from ? Math.min(from.accountData, now.accountData) : 0);
    const initialInScope = [...x.initialRooms.keys()].filter((r) => rooms.has(r));
    const all = from && initialInScope.length > 0 ? await storage.accountData.changesSince(userId, 0) : changed;
    const global = changed.filter((e) => e.roomId === null).map((e) => ({ type: e.type, content: e.content }));
    // Rooms sent initial now get their (possibly empty) list, as Synapse sends it.
    const byRoom: Record<string, JsonObject[]> = Object.fromEntries(initialInScope.map((r) => [r, [] as JsonObject[]]));
    const put = (roomId: string, type: string, content: JsonObject) => {
      const l = (byRoom[roomId] ??= []);
      const i = l.findIndex((e) => e["type"] === type);
      if (i >= 0) l[i] = { type, content };
      else l.push({ type, content });
    };
    for (const e of changed) if (e.roomId !== null && rooms.has(e.roomId as RoomId)) put(e.roomId, e.type, e.content);
    for (const e of all) if (e.roomId !== null && x.initialRooms.has(e.roomId as RoomId) && rooms.has(e.roomId as RoomId)) put(e.roomId, e.type, e.content);
    body["account_data"] = { global, rooms: byRoom };
    if (global.length > 0 || Object.values(byRoom).some((l) => l.length > 0)) news = true;
  }

  const rc = req.extensions.receipts;
  if (rc) {
    const rooms = scopeRooms(rc, x.list);
    const incremental = rooms.filter((r) => !x.initialRooms.has(r));
    const fresh = rooms.filter((r) => x.initialRooms.has(r));
    const out: Record<string, JsonObject> = {};
    if (from) for (const [r, content] of await receiptEvents(storage, userId, incremental, Math.min(from.receipts, now.receipts), now.receipts)) out[r] = { type: "m.receipt", content };
    for (const [r, content] of await receiptEvents(storage, userId, fresh, 0, now.receipts)) {
      const timeline = new Set(x.initialRooms.get(r) ?? []);
      const kept: Record<string, JsonValue> = {};
      for (const [eventId, byType] of Object.entries(content)) {
        if (timeline.has(eventId)) {
          kept[eventId] = byType as JsonValue;
          continue;
        }
        // Off the timeline: only the user's own receipts.
        const own: Record<string, JsonValue> = {};
        for (const [type, byUser] of Object.entries(byType as JsonObject)) {
          const mine = (byUser as JsonObject)[userId];
          if (mine !== undefined) own[type] = { [userId]: mine };
        }
        if (Object.keys(own).length > 0) kept[eventId] = own;
      }
      if (Object.keys(kept).length > 0) out[r] = { type: "m.receipt", content: kept };
    }
    body["receipts"] = { rooms: out };
    if (Object.keys(out).length > 0) news = true;
  }

  const ty = req.extensions.typing;
  if (ty) {
    const rooms = scopeRooms(ty, x.list);
    const out: Record<string, JsonObject> = {};
    const incremental = rooms.filter((r) => !x.initialRooms.has(r));
    const fresh = rooms.filter((r) => x.initialRooms.has(r));
    const add = (m: Map<RoomId, UserId[]>) => { for (const [r, users] of m) out[r] = { type: "m.typing", content: { user_ids: users } }; };
    if (from) add(x.typing.changesSince(incremental, from.typing));
    add(x.typing.changesSince(fresh, 0));
    body["typing"] = { rooms: out };
    if (Object.keys(out).length > 0) news = true;
  }
  return { body, news };
}
