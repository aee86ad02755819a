/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3pushrules (and /pushrules/global/). */
import { defineClientRoute } from "../../http/index.js";
import { effectiveRules, type PushRulesDeps } from "./shared.js";

export const getPushRules = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/pushrules/",
  auth: "access-token",
  async handle({ user }, deps: PushRulesDeps) {
    return { global: await effectiveRules(deps, user.userId) };
  },
});

export const getGlobalPushRules = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/pushrules/global/",
  auth: "access-token",
  async handle({ user }, deps: PushRulesDeps) {
    return effectiveRules(deps, user.userId);
  },
});
