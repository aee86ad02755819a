/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1state_idsroomid
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1stateroomid
 * 1. `event_id` is required (400 M_MISSING_PARAM); an unknown event, or one of another room, is 404 M_NOT_FOUND;
 *    so is an event Zion holds without a state (an outlier).
 * 2. The server must have a joined user in the room, or the room must be world_readable now (403 M_FORBIDDEN); and
 *    it must be allowed to see the event itself (history visibility at the event, core/visibility), else 403: the
 *    state at a point of history it may not read would reveal that history.
 * 3. The state before the event (the state groups) and its auth chain (the auth-chain index, one query), the
 *    state's own events excluded from the chain; ids sorted.
 * /state answers the same sets as PDUs in the room version's wire format, without `unsigned`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { EventId, RoomId, ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineFederationRoute } from "../../http/index.js";
import { assertMayRead, eventIdParam, requireEventIn, requireRoom, roomIdParam, stateAndAuthChain, visibleTo, wirePdu, type RoomReadDeps, type RoomReadStores } from "../events/access.js";

/** Steps 1-3, shared by /state and /state_ids. */
async function stateAt(stores: RoomReadStores, origin: ServerName, roomId: RoomId, rawEventId: string | undefined) {
  // Step 1.
  if (rawEventId === undefined) throw MatrixError.missingParam("event_id");
  const eventId = eventIdParam(rawEventId, "event_id");
  await requireRoom(stores, roomId);
  const pdu = await requireEventIn(stores, roomId, eventId);
  // Step 2.
  const access = await assertMayRead(stores, roomId, origin);
  if (!(await visibleTo(stores, origin, access, [pdu])).has(eventId)) throw MatrixError.forbidden(`${origin} may not see ${eventId} (history visibility)`);
  // Step 3.
  const state = await stores.state.getStateAtEvent(eventId, "before");
  if (!state) throw MatrixError.notFound(`no state is known at ${eventId}`);
  return stateAndAuthChain(stores, state);
}

const query = z.object({ event_id: z.string().optional() }).passthrough();
const params = z.object({ roomId: z.string() });

export const getStateIds = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/state_ids/:roomId",
  auth: "x-matrix",
  params,
  query,
  async handle({ origin, params, query }, { roomRead }: RoomReadDeps) {
    const { stateIds, authChainIds } = await stateAt(roomRead, origin, roomIdParam(params.roomId), query.event_id);
    return { pdu_ids: stateIds, auth_chain_ids: authChainIds };
  },
});

/** The PDUs of `ids` in wire form, in the order given, skipping any no longer stored. */
export async function wirePdusOf(stores: RoomReadStores, ids: readonly EventId[]): Promise<JsonObject[]> {
  const got = await stores.events.getPdus(ids);
  const out: JsonObject[] = [];
  for (const id of ids) {
    const p = got.get(id);
    if (p) out.push(wirePdu(p));
  }
  return out;
}

export const getState = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/state/:roomId",
  auth: "x-matrix",
  params,
  query,
  async handle({ origin, params, query }, { roomRead }: RoomReadDeps) {
    const { stateIds, authChainIds } = await stateAt(roomRead, origin, roomIdParam(params.roomId), query.event_id);
    return { pdus: await wirePdusOf(roomRead, stateIds), auth_chain: await wirePdusOf(roomRead, authChainIds) };
  },
});
