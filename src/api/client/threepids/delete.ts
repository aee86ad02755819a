/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3piddelete: `medium` (email or msisdn)
 * and `address` are required; an account here has no third-party identifiers, so there is nothing to remove, and
 * nothing was bound through an identity server: 200 `{id_server_unbind_result: "no-support"}`.
 */
import { defineClientRoute } from "../../http/index.js";
import { ThreepidBody } from "./shared.js";

export const deleteThreepid = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/account/3pid/delete",
  auth: "access-token",
  body: ThreepidBody,
  maxBodyBytes: 8 * 1024,
  handle: () => ({ id_server_unbind_result: "no-support" }),
});
