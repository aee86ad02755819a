/**
 * The admin API's federation destinations (Synapse's docs/admin_api/federation.md): the servers the federation
 * sender knows with their back-off, one of them, the rooms shared with it, and resetting its back-off so that it is
 * tried at once. Shared by the routes beside this file.
 */
import { MatrixError } from "../../../core/errors.js";
import type { ServerName } from "../../../core/ids/index.js";
import type { AdminStore, DestinationStore, DestinationSummary, OutboundStore } from "../../../storage/ports.js";
import { dirParam, intParam } from "./service.js";

export interface DestinationAdminDeps {
  readonly admin: AdminStore;
  readonly destinations: Pick<DestinationStore, "recordSuccess">;
  readonly outbound: Pick<OutboundStore, "listDestinations">;
  /** The running sender, woken after a reset (absent for `zion admin`). */
  readonly federationSender?: { wake(destination: ServerName): void } | undefined;
}

/** A destination as Synapse lists it, with Zion's queue figures beside (extra fields its tools ignore). */
export function destinationEntry(d: DestinationSummary) {
  return {
    destination: d.destination,
    retry_last_ts: d.retryLastTs ?? 0,
    retry_interval: d.retryIntervalMs,
    failure_ts: d.failureTs,
    last_successful_stream_ordering: d.lastSuccessfulStreamOrdering,
    queued_pdus: d.queuedPdus,
    queued_edus: d.queuedEdus,
    last_success_ts: d.lastSuccessTs,
    last_error: d.lastError,
  };
}

type Entry = ReturnType<typeof destinationEntry>;
const ORDERS = ["destination", "retry_last_ts", "retry_interval", "failure_ts", "last_successful_stream_ordering"] as const;
type Order = (typeof ORDERS)[number];

export interface DestinationListParams {
  readonly from?: string | undefined;
  readonly limit?: string | undefined;
  readonly order_by?: string | undefined;
  readonly dir?: string | undefined;
  readonly destination?: string | undefined;
}

function pageParams(p: { from?: string | undefined; limit?: string | undefined }) {
  const limit = intParam(p.limit, "limit", 100);
  if (limit < 1 || limit > 1000) throw new MatrixError("M_INVALID_PARAM", 400, "limit: must be between 1 and 1000");
  return { from: intParam(p.from, "from", 0), limit };
}

/** GET /_synapse/admin/v1/federation/destinations: `{destinations, total, next_token?}`. */
export async function listDestinations(deps: DestinationAdminDeps, p: DestinationListParams) {
  const orderBy = (p.order_by ?? "destination") as Order;
  if (!ORDERS.includes(orderBy)) throw new MatrixError("M_INVALID_PARAM", 400, `order_by: unknown value; one of ${ORDERS.join(", ")}`);
  const { from, limit } = pageParams(p);
  const sign = dirParam(p.dir) === "b" ? -1 : 1;
  const term = p.destination?.toLowerCase();
  const all = (await deps.outbound.listDestinations()).map(destinationEntry).filter((d) => term === undefined || d.destination.toLowerCase().includes(term));
  const key = (d: Entry): string | number => d[orderBy] ?? -1;
  all.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = x < y ? -1 : x > y ? 1 : a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0;
    return sign * c;
  });
  const destinations = all.slice(from, from + limit);
  return { destinations, total: all.length, ...(from + destinations.length < all.length ? { next_token: String(from + destinations.length) } : {}) };
}

async function known(deps: DestinationAdminDeps, destination: string): Promise<Entry> {
  const d = (await deps.outbound.listDestinations()).find((x) => x.destination === destination);
  if (!d) throw MatrixError.notFound(`Unknown destination: ${destination}`);
  return destinationEntry(d);
}

/** GET /_synapse/admin/v1/federation/destinations/{destination}. */
export const destinationDetails = known;

/** GET /_synapse/admin/v1/federation/destinations/{destination}/rooms: `{rooms: [{room_id, stream_ordering}], total, next_token?}`. */
export async function destinationRooms(deps: DestinationAdminDeps, destination: string, p: { from?: string | undefined; limit?: string | undefined; dir?: string | undefined }) {
  await known(deps, destination);
  const { from, limit } = pageParams(p);
  const all = (await deps.admin.roomsOfServer(destination as ServerName)).map((r) => ({ room_id: r.roomId, stream_ordering: r.streamOrdering }));
  if (dirParam(p.dir) === "b") all.reverse();
  const rooms = all.slice(from, from + limit);
  return { rooms, total: all.length, ...(from + rooms.length < all.length ? { next_token: String(from + rooms.length) } : {}) };
}

/**
 * POST /_synapse/admin/v1/federation/destinations/{destination}/reset_connection: ends the back-off and tries the
 * destination at once (400 when it is not backing off, as Synapse).
 */
export async function resetDestination(deps: DestinationAdminDeps, destination: string) {
  const d = await known(deps, destination);
  if (d.failure_ts === null && d.retry_interval === 0) throw new MatrixError("M_UNKNOWN", 400, `${destination} is not backing off; there is nothing to reset`);
  await deps.destinations.recordSuccess(destination as ServerName);
  deps.federationSender?.wake(destination as ServerName);
  return {};
}
