/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientversions
 * Lists the spec versions whose client-server API Zion implements. A version
 * in this list promises a client that it can log in, sync, send and so on;
 * Zion serves none of that yet, so the honest list is empty (a valid answer:
 * the spec requires the `versions` array, not that it be non-empty). A client
 * such as Element then says the server is unsupported instead of failing
 * later at /login. The client API work adds a version here in the same change
 * that makes its endpoints work, never ahead of them (src/api/index.test.ts
 * checks that the list stays empty while any endpoint a client needs first,
 * login to logout, is not served).
 */
import { defineRoute } from "../http/index.js";

export const CLIENT_SPEC_VERSIONS: readonly string[] = [];

export const getClientVersions = defineRoute({
  method: "GET",
  path: "/_matrix/client/versions",
  auth: "none",
  resource: "client",
  handle: () => ({ versions: [...CLIENT_SPEC_VERSIONS], unstable_features: {} }),
});
