/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3publicrooms
 * `filter.generic_search_term` (name, topic, canonical alias; case-insensitive), `limit`, `since`;
 * `include_all_networks` and `third_party_instance_id` change nothing (Zion has no bridged networks).
 */
import { z } from "zod";
import { federationUnavailable } from "../../../rooms/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { listPublicRooms } from "./public-rooms-list.js";

export const postPublicRooms = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/publicRooms",
  auth: "access-token",
  query: z.looseObject({ server: z.string().optional() }),
  body: z.looseObject({
    limit: z.number().int().min(0).optional(),
    since: z.string().optional(),
    filter: z.looseObject({ generic_search_term: z.string().max(1024).optional(), room_types: z.array(z.string().nullable()).optional() }).optional(),
    include_all_networks: z.boolean().optional(),
    third_party_instance_id: z.string().optional(),
  }),
  emptyBodyIsObject: true,
  async handle({ query, body }, deps: Pick<RoomDeps, "roomClient" | "roomStore" | "events" | "serverName">) {
    if (query.server !== undefined && query.server !== deps.serverName) throw federationUnavailable("query public rooms", `server ${query.server}`);
    return listPublicRooms(deps, {
      ...(body.limit !== undefined ? { limit: body.limit } : {}),
      ...(body.since !== undefined ? { since: body.since } : {}),
      ...(body.filter?.generic_search_term !== undefined ? { searchTerm: body.filter.generic_search_term } : {}),
      ...(body.filter?.room_types !== undefined ? { roomTypes: body.filter.room_types } : {}),
    });
  },
});
