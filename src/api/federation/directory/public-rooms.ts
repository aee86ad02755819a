/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1publicrooms
 * https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1publicrooms
 * 1. allow_public_rooms_over_federation must be true (default false, as Synapse): otherwise 403 M_FORBIDDEN.
 * 2. limit: a positive integer, capped at PUBLIC_ROOMS_MAX_LIMIT (default that cap); since: opaque, from an earlier
 *    page (an unknown one is 400 M_INVALID_PARAM); POST adds filter.generic_search_term and filter.room_types.
 * 3. third_party_instance_id names a bridged network: Zion has none, so it is an empty page; include_all_networks
 *    adds nothing either.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineFederationRoute } from "../../http/index.js";
import type { PublicRoomsPage, PublicRoomsQuery, RoomDirectory } from "./ports.js";

export const PUBLIC_ROOMS_MAX_LIMIT = 500;

export interface PublicRoomsDeps {
  readonly roomDirectory: RoomDirectory;
  readonly allowPublicRoomsOverFederation: boolean;
}

function limitOf(raw: unknown): number {
  if (raw === undefined) return PUBLIC_ROOMS_MAX_LIMIT;
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw MatrixError.invalidParam("limit", `must be a positive integer, got ${JSON.stringify(raw)}`);
  return Math.min(n, PUBLIC_ROOMS_MAX_LIMIT);
}

async function page(deps: PublicRoomsDeps, q: PublicRoomsQuery, thirdParty: string | undefined) {
  // Step 1.
  if (!deps.allowPublicRoomsOverFederation) throw MatrixError.forbidden("this server does not share its room directory over federation (allow_public_rooms_over_federation)");
  // Step 3.
  const got: PublicRoomsPage | null = thirdParty !== undefined ? { chunk: [], totalRoomCountEstimate: 0 } : await deps.roomDirectory.publicRooms(q);
  if (!got) throw MatrixError.invalidParam("since", "unknown pagination token");
  return {
    chunk: [...got.chunk],
    total_room_count_estimate: got.totalRoomCountEstimate,
    ...(got.nextBatch !== undefined ? { next_batch: got.nextBatch } : {}),
    ...(got.prevBatch !== undefined ? { prev_batch: got.prevBatch } : {}),
  };
}

export const getPublicRooms = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/publicRooms",
  auth: "x-matrix",
  query: z.object({
    limit: z.string().optional(), since: z.string().max(1000).optional(),
    include_all_networks: z.enum(["true", "false"]).optional(), third_party_instance_id: z.string().optional(),
  }).passthrough(),
  async handle({ query }, deps: PublicRoomsDeps) {
    // Step 2.
    const q: PublicRoomsQuery = { limit: limitOf(query.limit), ...(query.since !== undefined ? { since: query.since } : {}) };
    return page(deps, q, query.third_party_instance_id);
  },
});

export const postPublicRooms = defineFederationRoute({
  method: "POST",
  path: "/_matrix/federation/v1/publicRooms",
  auth: "x-matrix",
  emptyBodyIsObject: true,
  body: z.object({
    limit: z.number().optional(), since: z.string().max(1000).optional(),
    filter: z.object({ generic_search_term: z.string().max(1000).optional(), room_types: z.array(z.string().nullable()).max(100).optional() }).passthrough().optional(),
    include_all_networks: z.boolean().optional(), third_party_instance_id: z.string().optional(),
  }).passthrough(),
  async handle({ body }, deps: PublicRoomsDeps) {
    // Step 2.
    const q: PublicRoomsQuery = {
      limit: limitOf(body.limit),
      ...(body.since !== undefined ? { since: body.since } : {}),
      ...(body.filter?.generic_search_term !== undefined ? { genericSearchTerm: body.filter.generic_search_term } : {}),
      ...(body.filter?.room_types !== undefined ? { roomTypes: body.filter.room_types } : {}),
    };
    return page(deps, q, body.third_party_instance_id);
  },
});
