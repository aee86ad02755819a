/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3pushers: `{pushers}`, the user's own. */
import { defineClientRoute } from "../../http/index.js";
import { pusherJson, type PusherDeps } from "./shared.js";

export const getPushers = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/pushers",
  auth: "access-token",
  async handle({ user }, { pushers }: Pick<PusherDeps, "pushers">) {
    return { pushers: (await pushers.list(user.userId)).map(pusherJson) };
  },
});
