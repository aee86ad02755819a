/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3publicrooms
 * No authentication (as the spec allows); `server` naming another server needs federation (502).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { federationUnavailable } from "../../../rooms/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";
import { listPublicRooms } from "./public-rooms-list.js";

export const getPublicRooms = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/publicRooms",
  auth: "none",
  query: z.looseObject({ limit: z.string().optional(), since: z.string().optional(), server: z.string().optional() }),
  async handle({ query }, deps: Pick<RoomDeps, "roomClient" | "roomStore" | "events" | "serverName">) {
    if (query.server !== undefined && query.server !== deps.serverName) throw federationUnavailable("query public rooms", `server ${query.server}`);
    if (query.limit !== undefined && !/^\d{1,9}$/.test(query.limit)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
    return listPublicRooms(deps, { ...(query.limit !== undefined ? { limit: Number(query.limit) } : {}), ...(query.since !== undefined ? { since: query.since } : {}) });
  },
});
