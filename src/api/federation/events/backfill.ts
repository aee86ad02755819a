/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1backfillroomid
 * 1. `v` (one or more event ids, repeated) and `limit` are required (400 M_MISSING_PARAM / M_INVALID_PARAM); limit
 *    is capped at BACKFILL_MAX_LIMIT whatever is asked.
 * 2. Unknown room: 404. The server must have a joined user, or the room must be world_readable now (403).
 * 3. Walk back from the `v` events (included) through prev_events, breadth first, deepest first, until `limit`
 *    events are collected; unknown `v` ids and prev events Zion does not hold are skipped, events of other rooms
 *    are never followed. Each round reads only the next frontier, so the work is bounded by `limit` times the
 *    prev_events cap.
 * 4. Events the server may not see are redacted (Synapse does the same), so it can still link the DAG.
 */
import { z } from "zod";
import type { Pdu } from "../../../core/events/pdu.js";
import type { EventId, RoomId } from "../../../core/ids/index.js";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, eventIdParam, requireRoom, roomIdParam, wirePdusFor, type RoomReadDeps, type RoomReadStores } from "./access.js";

export const BACKFILL_MAX_LIMIT = 100;

/** Parses a required positive integer parameter (the limit of /backfill and /get_missing_events). */
export function limitParam(raw: unknown, name: string): number {
  if (raw === undefined) throw MatrixError.missingParam(name);
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw MatrixError.invalidParam(name, `must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Step 3 (shared with /get_missing_events): events reached from `start` through prev_events, deepest first, at most
 * `limit`; `stop` ids are neither returned nor walked through, nor events below `minDepth`.
 */
export async function walkBack(
  stores: RoomReadStores, roomId: RoomId, start: readonly EventId[], opts: { limit: number; includeStart: boolean; stop?: ReadonlySet<EventId>; minDepth?: number },
): Promise<Pdu[]> {
  const seen = new Set<EventId>(start);
  const out: Pdu[] = [];
  let frontier: EventId[] = [...start];
  let first = true;
  while (frontier.length > 0 && out.length < opts.limit) {
    const got = await stores.events.getPdus(frontier);
    const layer = [...got.values()].filter((p) => p.roomId === roomId && !opts.stop?.has(p.eventId) && (opts.minDepth === undefined || p.depth >= opts.minDepth));
    layer.sort((a, b) => b.depth - a.depth || (a.eventId < b.eventId ? -1 : 1));
    const next: EventId[] = [];
    for (const p of layer) {
      if (!first || opts.includeStart) {
        if (out.length >= opts.limit) break;
        out.push(p);
      }
      for (const prev of p.prevEvents) if (!seen.has(prev)) { seen.add(prev); next.push(prev); }
    }
    first = false;
    frontier = next;
  }
  return out;
}

export const backfill = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/backfill/:roomId",
  auth: "x-matrix",
  params: z.object({ roomId: z.string() }),
  query: z.object({ v: z.union([z.string(), z.array(z.string())]).optional(), limit: z.string().optional() }).passthrough(),
  async handle({ origin, params, query }, { serverName, clock, roomRead }: RoomReadDeps) {
    const roomId = roomIdParam(params.roomId);
    // Step 1.
    if (query.v === undefined) throw MatrixError.missingParam("v");
    const vs = (typeof query.v === "string" ? [query.v] : query.v).map((v) => eventIdParam(v, "v"));
    if (vs.length > BACKFILL_MAX_LIMIT) throw MatrixError.invalidParam("v", `at most ${BACKFILL_MAX_LIMIT} event ids`);
    const limit = Math.min(limitParam(query.limit, "limit"), BACKFILL_MAX_LIMIT);
    // Step 2.
    await requireRoom(roomRead, roomId);
    const access = await assertMayRead(roomRead, roomId, origin);
    // Step 3.
    const pdus = await walkBack(roomRead, roomId, vs, { limit, includeStart: true });
    // Step 4.
    return { origin: serverName, origin_server_ts: clock.now(), pdus: await wirePdusFor(roomRead, origin, access, pdus) };
  },
});
