/**
 * The third-party lookups (https://spec.matrix.org/v1.13/client-server-api/#third-party-lookups) answer from the
 * application services' protocols; Zion has no application services (no bridges), so no protocol is known and
 * nothing is found: 404 M_NOT_FOUND, once the required query parameter is there (400 M_MISSING_PARAM otherwise).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";

const ProtocolParams = z.object({ protocol: z.string().min(1).max(255) });

export function unknownProtocol(protocol: string): MatrixError {
  return MatrixError.notFound(`unknown third-party protocol ${JSON.stringify(protocol)}: this server has no bridges`);
}

/** GET /thirdparty/{kind}/{protocol}: the protocol is unknown. */
export function protocolLookup(kind: "protocol" | "location" | "user") {
  return defineClientRoute({
    method: "GET",
    path: `/_matrix/client/v3/thirdparty/${kind}/:protocol`,
    auth: "access-token",
    params: ProtocolParams,
    handle({ params }) {
      throw unknownProtocol(params.protocol);
    },
  });
}

/** GET /thirdparty/{kind}?{param}=: the reverse lookup finds nothing. */
export function reverseLookup(kind: "location" | "user", param: "alias" | "userid") {
  return defineClientRoute({
    method: "GET",
    path: `/_matrix/client/v3/thirdparty/${kind}`,
    auth: "access-token",
    query: z.looseObject({ [param]: z.string().max(255).optional() }),
    handle({ query }) {
      const value = query[param];
      if (typeof value !== "string") throw MatrixError.missingParam(param);
      throw MatrixError.notFound(`no third-party ${kind} for ${JSON.stringify(value)}: this server has no bridges`);
    },
  });
}
