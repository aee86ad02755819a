/**
 * Server-side aggregations bundled into served events' `unsigned["m.relations"]`
 * (https://spec.matrix.org/v1.16/client-server-api/#aggregations-of-child-events):
 *
 * - `m.thread` on a thread root: the latest event of the thread the reader may see (`latest_event`, itself with
 *   its aggregations), how many events the thread has (`count`), and whether the reader started it or wrote in
 *   it (`current_user_participated`).
 * - `m.replace` on an edited event: the most recent valid replacement the reader may see, as a whole event
 *   (spec v1.7+; the server leaves the original's content as it is). Valid: same room, sender and type, neither
 *   a state event, the original not itself a replacement, `m.new_content` present unless encrypted; the most
 *   recent by origin_server_ts, then by the largest event id. A redacted original bundles no edit.
 *
 * Annotations are not aggregated by the server (removed from the specification in v1.7).
 */
import type { EventId, UserId } from "../core/ids/index.js";
import type { Pdu } from "../core/events/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";

/** How many of a thread's newest events are tried for one the reader may see. */
export const THREAD_LATEST_CANDIDATES = 5;

const relType = (p: Pdu): string | undefined => {
  const r = p.content["m.relates_to"];
  return typeof r === "object" && r !== null && !Array.isArray(r) ? ((r as JsonObject)["rel_type"] as string | undefined) : undefined;
};

/** Whether `edit` is a valid replacement of `original` (the rules above). */
export function isValidReplacement(original: Pdu, edit: Pdu): boolean {
  if (edit.roomId !== original.roomId || edit.sender !== original.sender || edit.type !== original.type) return false;
  if (edit.stateKey !== undefined || original.stateKey !== undefined) return false;
  if (relType(original) === "m.replace") return false;
  if (edit.type !== "m.room.encrypted") {
    const nc = edit.content["m.new_content"];
    if (typeof nc !== "object" || nc === null || Array.isArray(nc)) return false;
  }
  return true;
}

/** The most recent of the valid replacements (origin_server_ts, then event id). */
export function latestReplacement(original: Pdu, edits: readonly Pdu[]): Pdu | undefined {
  let best: Pdu | undefined;
  for (const e of edits) {
    if (!isValidReplacement(original, e)) continue;
    if (!best || e.originServerTs > best.originServerTs || (e.originServerTs === best.originServerTs && e.eventId > best.eventId)) best = e;
  }
  return best;
}

/** What the bundling needs from the reads (RoomReads provides it). */
export interface AggregationSource {
  threadSummaries(roots: readonly EventId[], userId: UserId): Promise<ReadonlyMap<EventId, { count: number; latest: readonly EventId[]; participated: boolean }>>;
  replacements(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, readonly EventId[]>>;
  pdus(ids: readonly EventId[]): Promise<ReadonlyMap<EventId, Pdu>>;
  /** The events the reader may see, in order. */
  visible(userId: UserId, events: readonly Pdu[]): Promise<Pdu[]>;
  /** The client form of events (redactions applied), without aggregations. */
  client(events: readonly Pdu[]): Promise<JsonObject[]>;
  /** Events among `ids` that are redacted. */
  redacted(ids: readonly EventId[]): Promise<ReadonlySet<EventId>>;
}

/** `unsigned["m.relations"]` for each of `events` that has any aggregation for `userId`. */
export async function bundledAggregations(src: AggregationSource, userId: UserId, events: readonly Pdu[]): Promise<Map<EventId, JsonObject>> {
  const out = new Map<EventId, Record<string, JsonValue>>();
  if (events.length === 0) return out;
  const ids = events.map((e) => e.eventId);
  const [threads, edits, redacted] = await Promise.all([src.threadSummaries(ids, userId), src.replacements(ids), src.redacted(ids)]);
  // m.replace
  const editIds = [...new Set([...edits.values()].flat())];
  const editPdus = await src.pdus(editIds);
  const chosen = new Map<EventId, Pdu>();
  for (const e of events) {
    const list = edits.get(e.eventId);
    if (!list || redacted.has(e.eventId)) continue;
    const visibleEdits = await src.visible(userId, list.map((id) => editPdus.get(id)).filter((p): p is Pdu => p !== undefined));
    const best = latestReplacement(e, visibleEdits);
    if (best) chosen.set(e.eventId, best);
  }
  const chosenJson = await src.client([...chosen.values()]);
  [...chosen.keys()].forEach((id, i) => out.set(id, { "m.replace": chosenJson[i]! }));
  // m.thread
  const latestIds = [...new Set([...threads.values()].flatMap((t) => t.latest))];
  const latestPdus = await src.pdus(latestIds);
  const latestOf = new Map<EventId, Pdu>();
  for (const [root, t] of threads) {
    const seen = await src.visible(userId, t.latest.map((id) => latestPdus.get(id)).filter((p): p is Pdu => p !== undefined));
    if (seen[0]) latestOf.set(root, seen[0]);
  }
  const latestEvents = [...new Map([...latestOf.values()].map((p) => [p.eventId, p])).values()];
  const latestJson = new Map((await src.client(latestEvents)).map((j, i) => [latestEvents[i]!.eventId, j]));
  // The latest event carries its own edit, as a client would show it.
  const latestEdits = await bundledEditsOnly(src, userId, latestEvents);
  for (const [root, latest] of latestOf) {
    const t = threads.get(root)!;
    const ev = { ...latestJson.get(latest.eventId)! };
    const edit = latestEdits.get(latest.eventId);
    if (edit) ev["unsigned"] = { ...((ev["unsigned"] as JsonObject | undefined) ?? {}), "m.relations": edit };
    out.set(root, { ...(out.get(root) ?? {}), "m.thread": { latest_event: ev, count: t.count, current_user_participated: t.participated } });
  }
  return out;
}

/** Only the m.replace part, for a thread's latest event (no threads nest). */
async function bundledEditsOnly(src: AggregationSource, userId: UserId, events: readonly Pdu[]): Promise<Map<EventId, JsonObject>> {
  const noThreads: AggregationSource = { ...src, threadSummaries: async () => new Map() };
  return bundledAggregations(noThreads, userId, events);
}
