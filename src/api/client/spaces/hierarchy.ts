/**
 * https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv1roomsroomidhierarchy
 *
 * 1. `suggested_only` (true/false, default false), `limit` (an integer > 0; default 50, at most 100), `max_depth` (an
 *    integer >= 0; default and at most 50), `from` (a token from an earlier page): 400 M_INVALID_PARAM naming the
 *    parameter otherwise, and when `from` was issued for another room, `max_depth` or `suggested_only`.
 * 2. The root must be a room this server knows that the user may see (rooms/space-hierarchy.ts): 403 M_FORBIDDEN
 *    otherwise (one answer for both, so the endpoint does not reveal which rooms exist).
 * 3. A depth-first page of the rooms the user may see, each with its children_state; `next_batch` when more follow.
 *    Tokens are stateless (`h` + base64url JSON of the room, max_depth, suggested_only and the position), and one
 *    walk reads at most MAX_ROOMS_WALKED rooms, so the work of a request is bounded whatever token it sends.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { RoomId } from "../../../core/ids/index.js";
import type { SpaceHierarchy } from "../../../rooms/index.js";
import { defineClientRoute } from "../../http/index.js";
import { RoomParams, roomIdParam } from "../rooms/shared.js";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
export const MAX_DEPTH = 50;
export const MAX_ROOMS_WALKED = 1000;

export interface HierarchyDeps {
  readonly spaceHierarchy: SpaceHierarchy;
}

interface Token { readonly r: string; readonly d: number; readonly s: boolean; readonly n: number }

function intParam(raw: string | undefined, name: string, min: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,9}$/.test(raw) || Number(raw) < min) throw MatrixError.invalidParam(name, `must be an integer of at least ${min}`);
  return Number(raw);
}

function encodeToken(t: Token): string {
  return `h${Buffer.from(JSON.stringify(t)).toString("base64url")}`;
}

function decodeToken(raw: string): Token {
  const bad = MatrixError.invalidParam("from", "is not a token this server issued");
  if (!/^h[A-Za-z0-9_-]{1,1000}$/.test(raw)) throw bad;
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(raw.slice(1), "base64url").toString("utf8"));
  } catch {
    throw bad;
  }
  const o = t as Partial<Token> | null;
  if (!o || typeof o.r !== "string" || !Number.isSafeInteger(o.d) || typeof o.s !== "boolean" || !Number.isSafeInteger(o.n) || o.n! < 0) throw bad;
  return o as Token;
}

export const getHierarchy = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v1/rooms/:roomId/hierarchy",
  auth: "access-token",
  params: RoomParams,
  query: z.looseObject({ suggested_only: z.string().optional(), limit: z.string().optional(), max_depth: z.string().optional(), from: z.string().optional() }),
  async handle({ user, params, query }, { spaceHierarchy }: HierarchyDeps) {
    const roomId: RoomId = roomIdParam(params.roomId);
    // Step 1
    if (query.suggested_only !== undefined && query.suggested_only !== "true" && query.suggested_only !== "false") throw MatrixError.invalidParam("suggested_only", 'must be "true" or "false"');
    const suggestedOnly = query.suggested_only === "true";
    const limit = Math.min(intParam(query.limit, "limit", 1) ?? DEFAULT_LIMIT, MAX_LIMIT);
    const maxDepth = Math.min(intParam(query.max_depth, "max_depth", 0) ?? MAX_DEPTH, MAX_DEPTH);
    let skip = 0;
    if (query.from !== undefined) {
      const t = decodeToken(query.from);
      if (t.r !== roomId) throw MatrixError.invalidParam("from", "was issued for another room");
      if (t.d !== maxDepth || t.s !== suggestedOnly) throw MatrixError.invalidParam("from", "max_depth and suggested_only cannot change between pages");
      skip = t.n;
    }
    // Step 2
    const page = await spaceHierarchy.walk(roomId, user.userId, { maxDepth, suggestedOnly, skip, limit, maxRooms: MAX_ROOMS_WALKED });
    if (!page) throw MatrixError.forbidden(`you may not view room ${roomId}, or this server does not know it`);
    // Step 3
    return page.more ? { rooms: page.rooms, next_batch: encodeToken({ r: roomId, d: maxDepth, s: suggestedOnly, n: skip + page.rooms.length }) } : { rooms: page.rooms };
  },
});
