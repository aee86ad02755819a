/**
 * The public room directory as /publicRooms pages it: published rooms by joined members (most first, then room
 * id), `since` an offset token `o<n>`, `limit` (at most 500), an optional search over name, topic and alias, and an
 * optional `room_types` filter (v1.4; `null` in it keeps rooms without a type).
 * The work is bounded by the number of published rooms (one count query), then the state of one page of rooms.
 */
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { RoomDeps } from "../deps.js";
import { publicRoomChunk } from "./shared.js";

export const MAX_PUBLIC_ROOMS_LIMIT = 500;

export interface PublicRoomsQuery {
  readonly limit?: number;
  readonly since?: string;
  readonly searchTerm?: string;
  /** v1.4's `filter.room_types`: keep rooms whose type (null: none) is listed. */
  readonly roomTypes?: readonly (string | null)[];
}

export async function listPublicRooms(deps: Pick<RoomDeps, "roomClient" | "roomStore" | "events">, q: PublicRoomsQuery): Promise<JsonObject> {
  let offset = 0;
  if (q.since !== undefined) {
    const m = /^o(\d{1,9})$/.exec(q.since);
    if (!m) throw MatrixError.invalidParam("since", "is not a token this server issued");
    offset = Number(m[1]);
  }
  const limit = Math.min(q.limit ?? MAX_PUBLIC_ROOMS_LIMIT, MAX_PUBLIC_ROOMS_LIMIT);
  const published = await deps.roomClient.getPublishedRooms();
  const counts = await deps.roomClient.countRoomMembers(published, "join");
  let ordered = [...published].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1));
  let chunks: JsonObject[] | undefined;
  const term = q.searchTerm === undefined || q.searchTerm === "" ? undefined : q.searchTerm.toLowerCase();
  const types = q.roomTypes === undefined || q.roomTypes.length === 0 ? undefined : new Set(q.roomTypes);
  if (term !== undefined || types !== undefined) {
    const all = await Promise.all(ordered.map((r) => publicRoomChunk(deps, r, counts.get(r) ?? 0)));
    chunks = all.filter((c) =>
      (term === undefined || ["name", "topic", "canonical_alias"].some((k) => typeof c[k] === "string" && (c[k] as string).toLowerCase().includes(term))) &&
      (types === undefined || types.has(typeof c["room_type"] === "string" ? (c["room_type"] as string) : null)));
    ordered = chunks.map((c) => c["room_id"] as typeof ordered[number]);
  }
  const page = ordered.slice(offset, offset + limit);
  const chunk = chunks ? chunks.slice(offset, offset + limit) : await Promise.all(page.map((r) => publicRoomChunk(deps, r, counts.get(r) ?? 0)));
  const out: Record<string, unknown> = { chunk, total_room_count_estimate: ordered.length };
  if (offset + limit < ordered.length) out["next_batch"] = `o${offset + limit}`;
  if (offset > 0) out["prev_batch"] = `o${Math.max(0, offset - limit)}`;
  return out as JsonObject;
}
