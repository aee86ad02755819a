/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pidadd: `client_secret` and `sid` are
 * required; this server validates no third-party identifier, so no `sid` can name a validated session: 400
 * M_THREEPID_AUTH_FAILED, before any user-interactive auth (asking for a password could not make it succeed).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";

export const addThreepid = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/3pid/add",
  auth: "access-token",
  body: z.looseObject({ client_secret: z.string().min(1).max(255), sid: z.string().min(1).max(255), auth: z.unknown().optional() }),
  maxBodyBytes: 8 * 1024,
  handle({ body }) {
    throw new MatrixError("M_THREEPID_AUTH_FAILED", 400, `sid: no validated third-party identifier session ${JSON.stringify(body.sid)}; this server validates no email addresses or phone numbers`);
  },
});
