/**
 * The push rules API (https://spec.matrix.org/v1.16/client-server-api/#push-rules-api) over core/push's pure
 * functions: what the store keeps is core/push's UserPushRules; every change is computed in core, then stored in
 * one write that wakes the owner's syncs (m.push_rules account data).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, parsePushRuleKind, type PushRuleKind, type PushRuleResult, type PushRuleset, type UserPushRules } from "../../../core/push/index.js";
import type { SyncDeps } from "../deps.js";

export type PushRulesDeps = Pick<SyncDeps, "pushRules" | "notifier">;

export const RuleParams = z.object({ scope: z.string().min(1).max(64), kind: z.string().min(1).max(64), ruleId: z.string().min(1).max(255) });

export function unwrap<T>(r: PushRuleResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

/** Only the `global` scope exists (400 M_INVALID_PARAM naming scope otherwise). */
export function scopeAndKind(p: { scope: string; kind: string }): PushRuleKind {
  if (p.scope !== "global") throw MatrixError.invalidParam("scope", `must be global, not ${p.scope}`);
  return unwrap(parsePushRuleKind(p.kind));
}

export async function storedRules(deps: PushRulesDeps, userId: UserId): Promise<UserPushRules> {
  return ((await deps.pushRules.get(userId)) as unknown as UserPushRules | null) ?? NO_USER_PUSH_RULES;
}

export async function effectiveRules(deps: PushRulesDeps, userId: UserId): Promise<PushRuleset> {
  return effectivePushRuleset({ userId }, await storedRules(deps, userId));
}

export async function saveRules(deps: PushRulesDeps, userId: UserId, rules: UserPushRules): Promise<void> {
  const pos = await deps.pushRules.put(userId, rules as unknown as JsonObject);
  deps.notifier.notifyUser("accountData", userId, pos);
}
