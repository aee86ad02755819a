/**
 * Delegation documents, with CORS and application/json:
 * https://spec.matrix.org/v1.16/server-server-api/#getwell-knownmatrixserver
 * https://spec.matrix.org/v1.16/client-server-api/#getwell-knownmatrixclient
 */
import { MatrixError } from "../../core/errors.js";
import { defineRoute } from "../http/index.js";
import type { PublicDeps } from "./deps.js";

export const getWellKnownServer = defineRoute({
  method: "GET",
  path: "/.well-known/matrix/server",
  auth: "none",
  resource: "public",
  handle: (_input, { wellKnownServer }: Pick<PublicDeps, "wellKnownServer">) => {
    if (wellKnownServer === undefined) throw MatrixError.notFound("this server does not serve /.well-known/matrix/server (serve_server_wellknown is off)");
    return { "m.server": wellKnownServer };
  },
});

export const getWellKnownClient = defineRoute({
  method: "GET",
  path: "/.well-known/matrix/client",
  auth: "none",
  resource: "public",
  handle: (_input, { wellKnownClient }: Pick<PublicDeps, "wellKnownClient">) => wellKnownClient,
});
