/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pid (deprecated: /3pid/bind's older
 * form): `three_pid_creds` is required; no identity server can verify the credentials here, so 403
 * M_THREEPID_AUTH_FAILED, the one error the spec gives this endpoint.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import { BindBody } from "./shared.js";

export const postThreepid = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/3pid",
  auth: "access-token",
  body: z.looseObject({ three_pid_creds: BindBody }),
  maxBodyBytes: 8 * 1024,
  handle() {
    throw new MatrixError("M_THREEPID_AUTH_FAILED", 403, "three_pid_creds: this server verifies third-party identifiers with no identity server");
  },
});
