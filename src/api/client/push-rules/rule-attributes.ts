/**
 * GET and PUT /pushrules/global/{kind}/{ruleId}/enabled and /actions
 * (https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3pushrulesglobalkindruleidenabled): on user
 * rules and on server-default ones (stored as changes to the default).
 */
import { z } from "zod";
import { getPushRule, setPushRuleActions, setPushRuleEnabled } from "../../../core/push/index.js";
import { defineClientRoute, type Route } from "../../http/index.js";
import { RuleParams, effectiveRules, saveRules, scopeAndKind, storedRules, unwrap, type PushRulesDeps } from "./shared.js";

function attributeRoutes(attr: "enabled" | "actions", set: typeof setPushRuleEnabled): Route<PushRulesDeps>[] {
  const path = `/_matrix/client/v3/pushrules/:scope/:kind/:ruleId/${attr}`;
  return [
    defineClientRoute({
      method: "GET",
      path,
      auth: "access-token",
      params: RuleParams,
      async handle({ user, params }, deps: PushRulesDeps) {
        const rule = unwrap(getPushRule(await effectiveRules(deps, user.userId), scopeAndKind(params), params.ruleId));
        return { [attr]: rule[attr] };
      },
    }),
    defineClientRoute({
      method: "PUT",
      path,
      auth: "access-token",
      params: RuleParams,
      body: z.unknown(),
      async handle({ user, params, body }, deps: PushRulesDeps) {
        const kind = scopeAndKind(params);
        await saveRules(deps, user.userId, unwrap(set({ userId: user.userId }, await storedRules(deps, user.userId), kind, params.ruleId, body)));
        return {};
      },
    }),
  ];
}

export const pushRuleEnabledRoutes = attributeRoutes("enabled", setPushRuleEnabled);
export const pushRuleActionsRoutes = attributeRoutes("actions", setPushRuleActions);
