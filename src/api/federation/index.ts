/** Every /_matrix/federation route. This file only lists routes. */
import type { Route } from "../http/index.js";
import { queryRoutes, type ProfileDeps } from "./query/index.js";

export type FederationApiDeps = ProfileDeps;

export const federationRoutes: readonly Route<FederationApiDeps>[] = [...queryRoutes] as readonly Route<FederationApiDeps>[];
