/**
 * GET /_matrix/client/versions (https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientversions): the
 * client-server API versions whose endpoints Zion serves: r0.0.1 through r0.6.1, as Synapse lists them (every v3
 * route is served under r0 too, and r0.6.1's endpoints are v1.1's but the five v1.1 added), and v1.1 through v1.13.
 * docs/client-api.md ("Spec versions") says what each version requires and which route serves it;
 * src/api/index.test.ts checks every listed version against its required endpoints, cumulatively (the r0 ones under
 * their r0 paths), and lists the spec endpoints not served and why.
 */
import { defineRoute } from "../http/index.js";

/** The r0 releases, oldest first, as Synapse lists them. */
export const R0_SPEC_VERSIONS: readonly string[] = ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1"];

export const CLIENT_SPEC_VERSIONS: readonly string[] = [...R0_SPEC_VERSIONS, "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12", "v1.13"];

/** Unstable features served: simplified sliding sync (MSC4186) at /_matrix/client/unstable/org.matrix.simplified_msc3575/sync. */
export const UNSTABLE_FEATURES: Readonly<Record<string, boolean>> = { "org.matrix.simplified_msc3575": true };

export const getClientVersions = defineRoute({
  method: "GET",
  path: "/_matrix/client/versions",
  auth: "none",
  resource: "client",
  handle: () => ({ versions: [...CLIENT_SPEC_VERSIONS], unstable_features: { ...UNSTABLE_FEATURES } }),
});
