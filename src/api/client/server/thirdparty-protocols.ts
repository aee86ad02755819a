/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3thirdpartyprotocols: Zion has no bridges yet, so {}. */
import { defineClientRoute } from "../../http/index.js";

export const getThirdPartyProtocols = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/thirdparty/protocols",
  auth: "access-token",
  handle: () => ({}),
});
