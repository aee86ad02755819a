/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientversions
 * Lists the spec versions whose client-server API Zion implements; the client
 * API work extends this list as endpoints land, never ahead of them.
 */
import { defineRoute } from "../http/index.js";

export const CLIENT_SPEC_VERSIONS: readonly string[] = ["v1.11", "v1.12"];

export const getClientVersions = defineRoute({
  method: "GET",
  path: "/_matrix/client/versions",
  auth: "none",
  resource: "client",
  handle: () => ({ versions: [...CLIENT_SPEC_VERSIONS], unstable_features: {} }),
});
