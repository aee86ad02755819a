/**
 * GET /_matrix/client/versions (https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientversions): the
 * client-server API versions whose endpoints Zion serves, v1.1 through v1.13. docs/client-api.md ("Spec versions")
 * says what each version requires and which route serves it; src/api/index.test.ts checks every listed version
 * against its required endpoints, cumulatively, and lists the spec endpoints not served and why.
 */
import { defineRoute } from "../http/index.js";

export const CLIENT_SPEC_VERSIONS: readonly string[] = ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12", "v1.13"];

/** Unstable features served: simplified sliding sync (MSC4186) at /_matrix/client/unstable/org.matrix.simplified_msc3575/sync. */
export const UNSTABLE_FEATURES: Readonly<Record<string, boolean>> = { "org.matrix.simplified_msc3575": true };

export const getClientVersions = defineRoute({
  method: "GET",
  path: "/_matrix/client/versions",
  auth: "none",
  resource: "client",
  handle: () => ({ versions: [...CLIENT_SPEC_VERSIONS], unstable_features: { ...UNSTABLE_FEATURES } }),
});
