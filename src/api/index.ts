/**
 * The whole HTTP surface: every route, and which of them a listener serves
 * given its resources (Synapse's `resources: [{names: [...]}]`).
 */
import type { Metrics } from "../core/metrics.js";
import type { Route, RouteResource } from "./http/index.js";
import { federationRoutes, type FederationApiDeps } from "./federation/index.js";
import { publicRoutes, type PublicDeps } from "./public/index.js";
import { clientRoutes, type ClientApiDeps } from "./client/index.js";
import { mediaRoutes, type MediaDeps } from "./media/index.js";

/** `metrics`: where a handler declares its metrics (core/metrics.ts; noMetrics unless enable_metrics). */
export type ApiDeps = PublicDeps & FederationApiDeps & ClientApiDeps & MediaDeps & { readonly metrics: Metrics };

export const allRoutes: readonly Route<ApiDeps>[] = [...publicRoutes, ...clientRoutes, ...mediaRoutes, ...federationRoutes] as readonly Route<ApiDeps>[];

export interface MountOptions {
  /** The listener's resource names. */
  readonly resources: ReadonlySet<string>;
  /** federation_enabled: false mounts no federation resource at all (the key endpoint only under an explicit "keys"). */
  readonly federationEnabled: boolean;
}

/**
 * Which resources a listener serves: "public" always; federation implies keys when federation is on; /_matrix/media
 * ("media") is served wherever "client" or (with federation on) "federation" is too, as Synapse mounts it.
 */
export function mountedResources(options: MountOptions): ReadonlySet<RouteResource> {
  const out = new Set<RouteResource>(["public"]);
  const r = options.resources;
  if (r.has("client")) out.add("client");
  if (r.has("media") || r.has("client") || (options.federationEnabled && r.has("federation"))) out.add("media");
  if (r.has("keys")) out.add("keys");
  if (options.federationEnabled && r.has("federation")) {
    out.add("federation");
    out.add("keys");
  }
  return out;
}

export function routesFor<D>(routes: readonly Route<D>[], options: MountOptions): Route<D>[] {
  const mounted = mountedResources(options);
  return routes.filter((r) => mounted.has(r.resource));
}

export { publicRoutes, federationRoutes, clientRoutes, mediaRoutes };
export { metricsRoutes } from "./metrics/metrics.js";
export type { MetricsDeps } from "./metrics/metrics.js";
export type { PublicDeps, FederationApiDeps, ClientApiDeps, MediaDeps };
export { emptyRoomDirectory, localRoomDirectory, type RoomDirectory } from "./federation/index.js";
export { scryptHasher, storedUiaSessions, storedNonceStore, registrationMac, adminService } from "./client/index.js";
export type { AdminDeps } from "./client/index.js";
export { RoomDeletions, roomAdmin, mediaAdmin, destinationAdmin, type MediaAdminDeps, type DestinationAdminDeps } from "./client/index.js";
export { inboundPduMetrics } from "./federation/transactions/send-transaction.js";
export type { AccountSettings, PasswordHasher, TurnSettings, ProfileChangeListener, DeviceListAudience, RemoteE2ee } from "./client/index.js";
export type { ServerIdentity } from "./public/index.js";
export { buildServerKeys, CLIENT_SPEC_VERSIONS, SERVER_SOFTWARE_NAME } from "./public/index.js";
