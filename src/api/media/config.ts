/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv1mediaconfig */
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";

export const mediaConfig = defineRoute({
  method: "GET",
  path: "/_matrix/client/v1/media/config",
  resource: "client",
  auth: "access-token",
  cors: true,
  handle: (_input, { media }: MediaDeps) => ({ "m.upload.size": media.settings.maxUploadBytes }),
});
