/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync
 *
 * - `since`: a token from an earlier `next_batch` (400 M_INVALID_PARAM otherwise); absent: an initial sync.
 * - `filter`: inline JSON or the id of a stored filter (unknown id: 400 M_INVALID_PARAM "No such filter", as
 *   Synapse answers); parsed strictly by core/filters.
 * - `timeout`: milliseconds to wait when nothing is new, a non-negative integer, capped at MAX_TIMEOUT_MS.
 * - `set_presence` (online, offline, unavailable): absent is online, as the spec says ("automatically marked as
 *   online when it uses this API") and Synapse does; parsed by the one parser sliding sync uses too
 *   (parseSetPresence); what it does is src/sync/presence.ts's.
 * - `full_state`, `use_state_after` and MSC4222's unstable
 *   `org.matrix.msc4222.use_state_after` (matrix-js-sdk sends it): the state at the end of the timeline is then
 *   sent under `state_after` (or the unstable name) instead of the state at its start.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseFilter, parseSyncFilterParam, type Filter } from "../../../core/filters/index.js";
import { parseSetPresence, parseToken } from "../../../sync/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { SyncDeps } from "../deps.js";

/** The longest a /sync waits, whatever `timeout` asks (5 minutes: well past every client's default of 30 s). */
export const MAX_TIMEOUT_MS = 300_000;

function bool(raw: string | undefined, field: string): boolean {
  if (raw === undefined) return false;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw MatrixError.invalidParam(field, "must be true or false");
}

export const sync = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/sync",
  auth: "access-token",
  query: z.looseObject({
    since: z.string().optional(),
    filter: z.string().optional(),
    full_state: z.string().optional(),
    set_presence: z.string().optional(),
    timeout: z.string().optional(),
    use_state_after: z.string().optional(),
    "org.matrix.msc4222.use_state_after": z.string().optional(),
  }),
  async handle({ user, query, signal }, deps: Pick<SyncDeps, "sync" | "filters">) {
    const since = query.since !== undefined ? parseToken(query.since, "since") : null;
    let timeoutMs = 0;
    if (query.timeout !== undefined) {
      if (!/^\d{1,16}$/.test(query.timeout)) throw MatrixError.invalidParam("timeout", "must be a non-negative integer of milliseconds");
      timeoutMs = Math.min(Number(query.timeout), MAX_TIMEOUT_MS);
    }
    const setPresence = parseSetPresence(query.set_presence);
    const fullState = bool(query.full_state, "full_state");
    const stable = bool(query.use_state_after, "use_state_after");
    const unstable = bool(query["org.matrix.msc4222.use_state_after"], "org.matrix.msc4222.use_state_after");
    let filter: Filter | undefined;
    if (query.filter !== undefined) {
      const p = parseSyncFilterParam(query.filter);
      if (p.kind === "inline") filter = p.filter;
      else {
        const stored = /^\d{1,16}$/.test(p.id) ? await deps.filters.get(user.userId, p.id) : null;
        if (!stored) throw MatrixError.invalidParam("filter", "No such filter");
        filter = parseFilter(stored, "filter");
      }
    }
    return deps.sync.sync({
      userId: user.userId,
      deviceId: user.deviceId,
      since,
      ...(filter ? { filter } : {}),
      fullState,
      timeoutMs,
      stateAfterKey: stable ? "state_after" : unstable ? "org.matrix.msc4222.state_after" : null,
      signal,
      setPresence,
    });
  },
});
