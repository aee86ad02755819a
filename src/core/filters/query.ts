/**
 * The `filter` query parameters: /sync's is a filter id or a JSON-encoded
 * Filter (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync),
 * /messages' and /context's a JSON-encoded RoomEventFilter
 * (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidmessages).
 * Text that is not JSON is 400 M_NOT_JSON; JSON that is not a valid filter,
 * M_BAD_JSON or M_INVALID_PARAM naming the field under `filter`.
 */
import { MatrixError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import type { JsonValue } from "../json/types.js";
import { parseFilter, parseRoomEventFilter, type Filter, type RoomEventFilter } from "./filter.js";

/** Far above any real filter; the query string is bounded by the HTTP layer too. */
export const MAX_INLINE_FILTER_BYTES = 64 * 1024;

function json(raw: string): JsonValue {
  try {
    return parseJsonStrict(raw, { maxBytes: MAX_INLINE_FILTER_BYTES });
  } catch (e) {
    if (e instanceof MatrixError && e.errcode === "M_TOO_LARGE") throw MatrixError.invalidParam("filter", `longer than ${MAX_INLINE_FILTER_BYTES} bytes`);
    if (e instanceof MatrixError) throw MatrixError.notJson(`filter: not valid JSON (${e.message})`);
    throw e;
  }
}

export type SyncFilterParam = { readonly kind: "inline"; readonly filter: Filter } | { readonly kind: "id"; readonly id: string };

/** /sync's `filter`: inline when it starts with `{` (as clients and Synapse treat it), else a filter id. */
export function parseSyncFilterParam(raw: string): SyncFilterParam {
  if (raw.trimStart().startsWith("{")) {
    const v = json(raw);
    return { kind: "inline", filter: parseFilter(v, "filter") };
  }
  if (raw.length === 0) throw MatrixError.invalidParam("filter", "is empty");
  return { kind: "id", id: raw };
}

/** /messages' and /context's `filter`. */
export function parseRoomEventFilterParam(raw: string): RoomEventFilter {
  const v = json(raw);
  return parseRoomEventFilter(v, "filter");
}
