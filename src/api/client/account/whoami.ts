/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3accountwhoami */
import { defineClientRoute } from "../../http/index.js";

export const whoami = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/account/whoami",
  auth: "access-token",
  handle: ({ user }) => ({ user_id: user.userId, device_id: user.deviceId, is_guest: false }),
});
