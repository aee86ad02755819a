/** Every /_matrix/federation route. This file only lists routes. */
import type { Route } from "../http/index.js";
import { keyQueryRoutes, type KeyQueryDeps } from "./keys/index.js";
import { queryRoutes, type ProfileDeps } from "./query/index.js";

export type FederationApiDeps = ProfileDeps & KeyQueryDeps;

export const federationRoutes: readonly Route<FederationApiDeps>[] = [...queryRoutes, ...keyQueryRoutes] as readonly Route<FederationApiDeps>[];
