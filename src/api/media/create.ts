/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixmediav1create */
import { defineRoute } from "../http/index.js";
import type { MediaDeps } from "./deps.js";

export const createMedia = defineRoute({
  method: "POST",
  path: "/_matrix/media/v1/create",
  resource: "media",
  auth: "access-token",
  cors: true,
  handle: ({ user }, { media }: MediaDeps) => media.createPending(user.userId),
});
