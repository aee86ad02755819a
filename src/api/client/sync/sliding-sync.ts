/**
 * Simplified sliding sync (MSC4186) under its unstable prefix, as Synapse serves it and matrix-js-sdk and Element X
 * call it: https://github.com/matrix-org/matrix-spec-proposals/blob/main/proposals/4186-simplified-sliding-sync.md
 *
 * - `pos` (query, or the body's `pos` as the MSC now has it): a pos from an earlier response of this connection;
 *   absent: the connection starts. Unknown or expired: 400 M_UNKNOWN_POS.
 * - `timeout` (query or body): milliseconds to wait when nothing is new, at most MAX_TIMEOUT_MS; ignored without pos.
 * - `set_presence` (query, or the body as the MSC has it): online (the default), unavailable or offline, parsed
 *   by the parser /sync uses (parseSetPresence); anything else is 400 M_INVALID_PARAM (the MSC).
 * - The body (at most SLIDING_BODY_BYTES): parsed by src/sync/sliding/request.ts.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseSetPresence, parseSlidingRequest } from "../../../sync/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { SyncDeps } from "../deps.js";
import { MAX_TIMEOUT_MS } from "./sync.js";

export const SLIDING_BODY_BYTES = 256 * 1024;

function timeoutOf(raw: unknown): number {
  if (raw === undefined) return 0;
  const s = typeof raw === "number" ? String(raw) : raw;
  if (typeof s !== "string" || !/^\d{1,16}$/.test(s)) throw MatrixError.invalidParam("timeout", "must be a non-negative integer of milliseconds");
  return Math.min(Number(s), MAX_TIMEOUT_MS);
}

export const slidingSync = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
  auth: "access-token",
  query: z.looseObject({ pos: z.string().optional(), timeout: z.string().optional(), set_presence: z.string().optional() }),
  body: z.looseObject({}),
  maxBodyBytes: SLIDING_BODY_BYTES,
  async handle({ user, query, body, signal }, deps: Pick<SyncDeps, "slidingSync">) {
    const b = body as Record<string, unknown>;
    const rawPos = query.pos ?? b["pos"];
    if (rawPos !== undefined && rawPos !== null && typeof rawPos !== "string") throw MatrixError.badJson("pos: must be a string");
    const setPresence = parseSetPresence(query.set_presence ?? b["set_presence"]);
    const request = parseSlidingRequest(body, user.userId);
    const pos = typeof rawPos === "string" ? rawPos : null;
    return deps.slidingSync.sync({
      userId: user.userId,
      deviceId: user.deviceId,
      pos,
      timeoutMs: pos === null ? 0 : timeoutOf(query.timeout ?? b["timeout"]),
      request,
      setPresence,
      signal,
    });
  },
});
