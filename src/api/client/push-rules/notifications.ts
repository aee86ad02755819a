/**
 * https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3notifications
 *
 * 1. `from` (a `next_token` from an earlier page), `limit` (default 20, at most 100), `only` (`highlight` keeps the
 *    highlighting ones; any other value is 400 M_INVALID_PARAM).
 * 2. The push actions stored for the user when the events were persisted (rooms/push-actions.ts, migration 0018),
 *    newest first, history visibility applied (the user's own events never have one); each with its `actions`,
 *    `read` (at or before the user's m.read or m.read.private receipt in the room), `room_id` and `ts`.
 * 3. `next_token` is the stream ordering of the last one listed; the next page lists those before it.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { RoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { StoredPushAction } from "../../../storage/ports.js";
import { receiptOrdering } from "../../../sync/unread.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps, SyncDeps } from "../deps.js";

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

type Deps = Pick<RoomDeps, "events" | "roomReads" | "clock"> & Pick<SyncDeps, "receipts" | "pushActions">;

export const getNotifications = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/notifications",
  auth: "access-token",
  query: z.looseObject({ from: z.string().optional(), limit: z.string().optional(), only: z.string().optional() }),
  async handle({ user, query }, deps: Deps) {
    // Step 1
    let before = Number.MAX_SAFE_INTEGER;
    if (query.from !== undefined) {
      const m = /^n(\d{1,16})$/.exec(query.from);
      if (!m || !Number.isSafeInteger(Number(m[1]))) throw MatrixError.invalidParam("from", "is not a token this server issued");
      before = Number(m[1]);
    }
    if (query.limit !== undefined && !/^\d{1,9}$/.test(query.limit)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
    const limit = Math.min(query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit), MAX_LIMIT);
    if (query.only !== undefined && query.only !== "highlight") throw MatrixError.invalidParam("only", 'must be "highlight"');
    // Step 2: pages of stored actions until `limit` visible ones (or none left).
    let hits: StoredPushAction[] = [];
    let cursor = before;
    while (limit > 0 && hits.length <= limit) {
      const page = await deps.pushActions.listBefore(user.userId, cursor, limit + 1, query.only === "highlight");
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.streamOrdering;
      const pdus = await deps.events.getPdus(page.map((a) => a.eventId));
      const byRoom = new Map<RoomId, StoredPushAction[]>();
      for (const a of page) {
        if (!pdus.has(a.eventId)) continue;
        let l = byRoom.get(a.roomId);
        if (!l) byRoom.set(a.roomId, (l = []));
        l.push(a);
      }
      const visible = new Set<string>();
      for (const [roomId, list] of byRoom) {
        for (const p of await deps.roomReads.visibleTo(user.userId, roomId, list.map((a) => pdus.get(a.eventId)!))) visible.add(p.eventId);
      }
      hits.push(...page.filter((a) => visible.has(a.eventId)));
      if (page.length <= limit) break;
    }
    const more = hits.length > limit;
    hits = hits.slice(0, limit);
    const reads = new Map<RoomId, number>();
    for (const roomId of new Set(hits.map((h) => h.roomId))) reads.set(roomId, await receiptOrdering(deps, roomId, user.userId, null));
    const pdus = await deps.events.getPdus(hits.map((h) => h.eventId));
    const events = await deps.roomReads.clientEventsFor(user, hits.map((h) => pdus.get(h.eventId)!), deps.clock.now());
    // Step 3
    return {
      notifications: hits.map((h, i) => ({
        actions: h.actions as unknown as JsonObject[], event: events[i]!, read: h.streamOrdering <= (reads.get(h.roomId) ?? 0),
        room_id: h.roomId, ts: pdus.get(h.eventId)!.originServerTs,
      })),
      ...(more ? { next_token: `n${hits[hits.length - 1]!.streamOrdering}` } : {}),
    };
  },
});
