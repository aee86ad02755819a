/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientversions
 * Lists the spec versions whose client-server API Zion implements. A version
 * in this list promises a client that it can log in, sync, send and so on.
 * v1.1: login, sync, rooms, messages, ephemeral streams, push rules, profile,
 * devices, keys and to-device all work (matrix-js-sdk 37.5 needs one of
 * v1.1-v1.9). v1.2 and later are not listed until their endpoints exist
 * (space hierarchy, relations, threads, timestamp_to_event):
 * src/api/index.test.ts checks every listed version against its required
 * endpoints, cumulatively.
 */
import { defineRoute } from "../http/index.js";

export const CLIENT_SPEC_VERSIONS: readonly string[] = ["v1.1"];

/** Unstable features served: simplified sliding sync (MSC4186) at /_matrix/client/unstable/org.matrix.simplified_msc3575/sync. */
export const UNSTABLE_FEATURES: Readonly<Record<string, boolean>> = { "org.matrix.simplified_msc3575": true };

export const getClientVersions = defineRoute({
  method: "GET",
  path: "/_matrix/client/versions",
  auth: "none",
  resource: "client",
  handle: () => ({ versions: [...CLIENT_SPEC_VERSIONS], unstable_features: { ...UNSTABLE_FEATURES } }),
});
