/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pidunbind: `medium` and `address` are
 * required; this server binds through no identity server, so it cannot unbind: 200
 * `{id_server_unbind_result: "no-support"}`, the spec's answer for that.
 */
import { defineClientRoute } from "../../http/index.js";
import { ThreepidBody } from "./shared.js";

export const unbindThreepid = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/3pid/unbind",
  auth: "access-token",
  body: ThreepidBody,
  maxBodyBytes: 8 * 1024,
  handle: () => ({ id_server_unbind_result: "no-support" }),
});
