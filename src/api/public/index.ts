/** The endpoints that say who this server is. This file only lists routes. */
import type { Route } from "../http/index.js";
import type { PublicDeps } from "./deps.js";
import { getClientVersions } from "./client-versions.js";
import { getFederationVersion } from "./federation-version.js";
import { getHealth } from "./health.js";
import { getServerKeys, getServerKeysById } from "./server-keys.js";
import { getWellKnownClient, getWellKnownServer } from "./well-known.js";

export type { PublicDeps, ServerIdentity } from "./deps.js";
export { buildServerKeys } from "./server-keys.js";
export { CLIENT_SPEC_VERSIONS } from "./client-versions.js";
export { SERVER_SOFTWARE_NAME } from "./federation-version.js";

export const publicRoutes: readonly Route<PublicDeps>[] = [
  getHealth,
  getServerKeys,
  getServerKeysById,
  getFederationVersion,
  getWellKnownServer,
  getWellKnownClient,
  getClientVersions,
] as readonly Route<PublicDeps>[];
