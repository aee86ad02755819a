/** GET /_synapse/admin/v1/server_version: Zion's version, unauthenticated as in Synapse (tools read it before logging in). */
import { defineClientRoute } from "../../http/index.js";

export const serverVersion = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/server_version",
  auth: "none",
  handle: (_input, { version }: { version: string }) => ({ server_version: version }),
});
