/**
 * GET, PUT and DELETE /pushrules/global/{kind}/{ruleId}
 * (https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3pushrulesglobalkindruleid): `before` and
 * `after` query parameters place a new rule; core/push validates the body and the rule id.
 */
import { z } from "zod";
import { getPushRule, putPushRule, deletePushRule } from "../../../core/push/index.js";
import { defineClientRoute } from "../../http/index.js";
import { RuleParams, effectiveRules, saveRules, scopeAndKind, storedRules, unwrap, type PushRulesDeps } from "./shared.js";

const PATH = "/_matrix/client/v3/pushrules/:scope/:kind/:ruleId";

export const getPushRuleRoute = defineClientRoute({
  method: "GET",
  path: PATH,
  auth: "access-token",
  params: RuleParams,
  async handle({ user, params }, deps: PushRulesDeps) {
    const kind = scopeAndKind(params);
    return { ...unwrap(getPushRule(await effectiveRules(deps, user.userId), kind, params.ruleId)) };
  },
});

export const putPushRuleRoute = defineClientRoute({
  method: "PUT",
  path: PATH,
  auth: "access-token",
  params: RuleParams,
  query: z.looseObject({ before: z.string().max(255).optional(), after: z.string().max(255).optional() }),
  body: z.unknown(),
  async handle({ user, params, query, body }, deps: PushRulesDeps) {
    const kind = scopeAndKind(params);
    const next = unwrap(putPushRule(await storedRules(deps, user.userId), { kind, ruleId: params.ruleId, body, ...(query.before !== undefined ? { before: query.before } : {}), ...(query.after !== undefined ? { after: query.after } : {}) }));
    await saveRules(deps, user.userId, next);
    return {};
  },
});

export const deletePushRuleRoute = defineClientRoute({
  method: "DELETE",
  path: PATH,
  auth: "access-token",
  params: RuleParams,
  async handle({ user, params }, deps: PushRulesDeps) {
    const kind = scopeAndKind(params);
    const next = unwrap(deletePushRule({ userId: user.userId }, await storedRules(deps, user.userId), kind, params.ruleId));
    await saveRules(deps, user.userId, next);
    return {};
  },
});
