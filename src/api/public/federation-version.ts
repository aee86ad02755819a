/** https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1version */
import { defineFederationRoute } from "../http/index.js";
import type { PublicDeps } from "./deps.js";

export const SERVER_SOFTWARE_NAME = "Zion";

export const getFederationVersion = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/version",
  auth: "none",
  handle: (_input, { version }: Pick<PublicDeps, "version">) => ({ server: { name: SERVER_SOFTWARE_NAME, version } }),
});
