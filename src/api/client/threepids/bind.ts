/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pidbind: the four fields are required;
 * this server trusts no identity server, so 400 M_SERVER_NOT_TRUSTED naming `id_server`.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import { BindBody } from "./shared.js";

export const bindThreepid = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/3pid/bind",
  auth: "access-token",
  body: BindBody,
  maxBodyBytes: 8 * 1024,
  handle({ body }) {
    throw new MatrixError("M_SERVER_NOT_TRUSTED", 400, `id_server: this server binds through no identity server (${JSON.stringify(body.id_server)} is not trusted)`);
  },
});
