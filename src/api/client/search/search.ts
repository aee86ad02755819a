/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3search (room events only, the one category)
 *
 * 1. `search_categories.room_events`: `search_term` (required, at most 512 characters), `keys` (a subset of
 *    content.body, content.name, content.topic; default all three), `filter.rooms` / `filter.not_rooms` (at most 500
 *    each) and `filter.limit` (default 10, at most 50), `order_by` (recent or rank; both answer newest first);
 *    `next_batch` (query) a token from an earlier page. Bad values are 400 naming the field.
 * 2. The rooms searched are the user's joined rooms, narrowed by the filter.
 * 3. An event matches when every word of the term occurs, ignoring case, in one of the keys. The scan walks back
 *    through the event stream (shared/stream-scan.ts), keeping the events the user may see (history visibility);
 *    it stops at `limit` results. `next_batch` (`q<position>`) resumes
 *    below the last position scanned, so a page may hold fewer results than `limit` (even none) while older events
 *    remain. `rank` is 1 for every result (no ranking); `count` is left out (the spec's "approximate" total is
 *    unknown until the scan ends); `event_context`, `include_state` and `groupings` are not applied.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId, type RoomId } from "../../../core/ids/index.js";
import type { Pdu } from "../../../core/events/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { scanBack } from "../shared/stream-scan.js";

export const MAX_LIMIT = 50;
const KEYS = { "content.body": "body", "content.name": "name", "content.topic": "topic" } as const;
type Key = keyof typeof KEYS;
const TYPES: Readonly<Record<Key, string>> = { "content.body": "m.room.message", "content.name": "m.room.name", "content.topic": "m.room.topic" };

const RoomEvents = z.looseObject({
  search_term: z.string().max(512),
  keys: z.array(z.enum(["content.body", "content.name", "content.topic"])).max(3).optional(),
  filter: z.looseObject({
    rooms: z.array(z.string()).max(500).optional(),
    not_rooms: z.array(z.string()).max(500).optional(),
    limit: z.number().int().min(0).optional(),
  }).optional(),
  order_by: z.enum(["recent", "rank"]).optional(),
});

function matches(pdu: Pdu, keys: readonly Key[], words: readonly string[]): boolean {
  return keys.some((k) => {
    if (pdu.type !== TYPES[k]) return false;
    const v = pdu.content[KEYS[k]];
    if (typeof v !== "string") return false;
    const text = v.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

export const search = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/search",
  auth: "access-token",
  query: z.looseObject({ next_batch: z.string().optional() }),
  body: z.looseObject({ search_categories: z.looseObject({ room_events: RoomEvents.optional() }) }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, query, body }, deps: Pick<RoomDeps, "roomStore" | "events" | "roomReads" | "clock">) {
    const req = body.search_categories.room_events;
    if (req === undefined) return { search_categories: {} };
    // Step 1
    const keys: readonly Key[] = req.keys ?? ["content.body", "content.name", "content.topic"];
    const limit = Math.min(req.filter?.limit ?? 10, MAX_LIMIT);
    const words = req.search_term.toLowerCase().split(/\s+/).filter((w) => w !== "");
    let to = await deps.events.maxStreamOrdering();
    if (query.next_batch !== undefined) {
      const m = /^q(\d{1,16})$/.exec(query.next_batch);
      if (!m || !Number.isSafeInteger(Number(m[1]))) throw MatrixError.invalidParam("next_batch", "is not a token this server issued");
      to = Math.min(to, Number(m[1]));
    }
    const only = req.filter?.rooms?.map((r) => parseRoomId(r, "filter.rooms"));
    const not = new Set(req.filter?.not_rooms?.map((r) => parseRoomId(r, "filter.not_rooms")));
    // Step 2
    const joined = await deps.roomStore.getRoomsForUser(user.userId, "join");
    const rooms: RoomId[] = joined.filter((r) => (only === undefined || only.includes(r)) && !not.has(r));
    // Step 3
    const { hits, to: rest } = words.length === 0 ? { hits: [], to: 0 } : await scanBack(deps.events, rooms, to, limit, async (roomId, stored) => {
      const candidates = stored.filter((e) => matches(e.pdu, keys, words));
      const visible = new Set((await deps.roomReads.visibleTo(user.userId, roomId, candidates.map((e) => e.pdu))).map((p) => p.eventId));
      return candidates.filter((e) => visible.has(e.pdu.eventId)).map((e) => ({ stored: e, extra: null }));
    });
    const events = await deps.roomReads.clientEventsFor(user, hits.map((h) => h.pdu), deps.clock.now());
    const more = rest > 0;
    return {
      search_categories: {
        room_events: { results: events.map((e) => ({ rank: 1, result: e })), highlights: words, ...(more ? { next_batch: `q${rest}` } : {}) },
      },
    };
  },
});
