/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3account3pid: Zion has no 3PIDs, so an empty list. */
import { defineClientRoute } from "../../http/index.js";

export const getThreepids = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/account/3pid",
  auth: "access-token",
  handle: () => ({ threepids: [] }),
});
