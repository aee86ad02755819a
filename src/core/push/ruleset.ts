/**
 * A user's push rules: their own rules plus their changes to the
 * server-default ones, merged into the ruleset clients see, and the PUT,
 * DELETE, enabled and actions operations of
 * https://spec.matrix.org/v1.19/client-server-api/#push-rules-api as pure
 * functions returning the new rules or a MatrixError.
 */
import { MatrixError } from "../errors.js";
import { parseRoomId, parseUserId, type UserId } from "../ids/index.js";
import {
  PUSH_RULE_KINDS,
  defaultPushRuleset,
  type DefaultRuleOptions,
  type PushAction,
  type PushCondition,
  type PushRule,
  type PushRuleKind,
  type PushRuleset,
} from "./rules.js";

/** What storage keeps for one user. */
export interface UserPushRules {
  /** User-defined rules per kind, most important first. */
  readonly user: PushRuleset;
  /** Changes to server-default rules, keyed `kind/rule_id`. */
  readonly defaults: { readonly [kindAndRuleId: string]: DefaultRuleChange };
}
export interface DefaultRuleChange {
  readonly enabled?: boolean;
  readonly actions?: readonly PushAction[];
}

export const NO_USER_PUSH_RULES: UserPushRules = {
  user: { override: [], content: [], room: [], sender: [], underride: [] },
  defaults: {},
};

export type PushRuleResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MatrixError };

export interface PushRuleOwner extends DefaultRuleOptions {
  readonly userId: UserId;
}

const MASTER = ".m.rule.master";

function applyChange(r: PushRule, c: DefaultRuleChange | undefined): PushRule {
  if (!c) return r;
  return { ...r, ...(c.enabled !== undefined ? { enabled: c.enabled } : {}), ...(c.actions !== undefined ? { actions: c.actions } : {}) };
}

/**
 * The ruleset in evaluation order ("Predefined Rules"): server-default rules
 * come after the user's rules of the same kind, except `.m.rule.master`,
 * which always comes first.
 */
export function effectivePushRuleset(owner: PushRuleOwner, stored: UserPushRules): PushRuleset {
  const defaults = defaultPushRuleset(owner.userId, owner);
  const merged = {} as Record<PushRuleKind, readonly PushRule[]>;
  for (const kind of PUSH_RULE_KINDS) {
    const d = defaults[kind].map((r) => applyChange(r, stored.defaults[`${kind}/${r.rule_id}`]));
    const master = d.filter((r) => r.rule_id === MASTER);
    merged[kind] = [...master, ...stored.user[kind], ...d.filter((r) => r.rule_id !== MASTER)];
  }
  return merged;
}

/** The `{kind}` path parameter. */
export function parsePushRuleKind(raw: string): PushRuleResult<PushRuleKind> {
  return (PUSH_RULE_KINDS as readonly string[]).includes(raw)
    ? { ok: true, value: raw as PushRuleKind }
    : { ok: false, error: MatrixError.invalidParam("kind", `must be one of ${PUSH_RULE_KINDS.join(", ")}`) };
}

function attempt<T>(f: () => T): PushRuleResult<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof MatrixError) return { ok: false, error: e };
    throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is string | boolean | null | number {
  return v === null || typeof v === "string" || typeof v === "boolean" || Number.isSafeInteger(v);
}

/** Historical actions the spec says to strip ("Historical Actions"). */
const HISTORICAL_ACTIONS = new Set(["dont_notify", "coalesce"]);

export function parseActions(raw: unknown, field = "actions"): readonly PushAction[] {
  if (raw === undefined) throw MatrixError.missingParam(field);
  if (!Array.isArray(raw)) throw MatrixError.badJson(`${field}: must be an array`);
  const out: PushAction[] = [];
  raw.forEach((a: unknown, i) => {
    if (a === "notify") out.push("notify");
    else if (typeof a === "string" && HISTORICAL_ACTIONS.has(a)) return;
    else if (typeof a === "string") throw MatrixError.invalidParam(`${field}[${i}]`, `unknown action ${JSON.stringify(a)}`);
    else if (isObject(a)) {
      if (typeof a["set_tweak"] !== "string") throw MatrixError.invalidParam(`${field}[${i}].set_tweak`, "must be a string");
      if (a["set_tweak"] === "highlight" && a["value"] !== undefined && typeof a["value"] !== "boolean") {
        throw MatrixError.invalidParam(`${field}[${i}].value`, "the highlight tweak takes a boolean");
      }
      out.push(a as PushAction);
    } else throw MatrixError.badJson(`${field}[${i}]: must be a string or an object`);
  });
  return out;
}

function parseConditions(raw: unknown): readonly PushCondition[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw MatrixError.badJson("conditions: must be an array");
  return raw.map((c: unknown, i): PushCondition => {
    const f = `conditions[${i}]`;
    if (!isObject(c)) throw MatrixError.badJson(`${f}: must be an object`);
    if (typeof c["kind"] !== "string") throw MatrixError.badJson(`${f}.kind: must be a string`);
    for (const k of ["key", "pattern", "is"] as const) {
      if (c[k] !== undefined && typeof c[k] !== "string") throw MatrixError.badJson(`${f}.${k}: must be a string`);
    }
    if (c["value"] !== undefined && !isScalar(c["value"])) {
      throw MatrixError.invalidParam(`${f}.value`, "must be a string, an integer, a boolean or null");
    }
    return c as unknown as PushCondition;
  });
}

/** Rule ids a client may create: not starting with '.', no '/' or '\' (PUT /pushrules, `ruleId`). */
function checkNewRuleId(kind: PushRuleKind, ruleId: string): void {
  if (ruleId.length === 0) throw MatrixError.invalidParam("rule_id", "is empty");
  if (ruleId.startsWith(".")) throw MatrixError.invalidParam("rule_id", "ids starting with '.' are reserved for server-default rules");
  if (ruleId.includes("/") || ruleId.includes("\\")) throw MatrixError.invalidParam("rule_id", "may not contain '/' or '\\'");
  // Room and sender rules are named for the room or user they apply to ("Push Rules", items 3 and 4).
  if (kind === "room") parseRoomId(ruleId, "rule_id");
  if (kind === "sender") parseUserId(ruleId, "rule_id");
}

function withKind(stored: UserPushRules, kind: PushRuleKind, rules: readonly PushRule[]): UserPushRules {
  return { ...stored, user: { ...stored.user, [kind]: rules } };
}

function anchorNotFound(which: string, id: string, why = "not found"): MatrixError {
  // The spec's example answer: 400 M_UNKNOWN "before/after rule not found: someRuleId".
  return new MatrixError("M_UNKNOWN", 400, `${which} rule ${why}: ${id}`);
}

/** Every user rule is evaluated for every event the user may be notified of, so their number is bounded. */
export const MAX_USER_PUSH_RULES = 1000;

export interface PutPushRule {
  readonly kind: PushRuleKind;
  readonly ruleId: string;
  readonly body: unknown;
  readonly before?: string;
  readonly after?: string;
}

/**
 * PUT /pushrules/global/{kind}/{ruleId}: creates the rule (enabled, as the
 * most important user rule of its kind unless `before`/`after` place it) or
 * updates it in place (keeping whether it is enabled). `before` wins over
 * `after` when both are given; either must name a user-defined rule of the
 * same kind.
 */
export function putPushRule(stored: UserPushRules, req: PutPushRule): PushRuleResult<UserPushRules> {
  return attempt(() => {
    checkNewRuleId(req.kind, req.ruleId);
    if (!isObject(req.body)) throw MatrixError.badJson("body: must be a JSON object");
    const actions = parseActions(req.body["actions"]);
    let rule: PushRule;
    const existing = stored.user[req.kind].find((r) => r.rule_id === req.ruleId);
    const enabled = existing?.enabled ?? true;
    if (req.kind === "override" || req.kind === "underride") {
      rule = { rule_id: req.ruleId, default: false, enabled, conditions: parseConditions(req.body["conditions"]), actions };
    } else if (req.kind === "content") {
      const pattern = req.body["pattern"];
      if (pattern === undefined) throw MatrixError.missingParam("pattern");
      if (typeof pattern !== "string") throw MatrixError.badJson("pattern: must be a string");
      rule = { rule_id: req.ruleId, default: false, enabled, pattern, actions };
    } else {
      rule = { rule_id: req.ruleId, default: false, enabled, actions };
    }

    const list = [...stored.user[req.kind]];
    const at = list.findIndex((r) => r.rule_id === req.ruleId);
    const total = PUSH_RULE_KINDS.reduce((n, k) => n + stored.user[k].length, 0);
    if (at < 0 && total >= MAX_USER_PUSH_RULES) {
      throw MatrixError.invalidParam("rule_id", `a user may have at most ${MAX_USER_PUSH_RULES} push rules; delete one first`);
    }
    if (req.before === undefined && req.after === undefined) {
      if (at >= 0) list[at] = rule;
      else list.unshift(rule);
      return withKind(stored, req.kind, list);
    }
    if (at >= 0) list.splice(at, 1);
    const [which, anchorId] = req.before !== undefined ? (["before", req.before] as const) : (["after", req.after!] as const);
    if (anchorId.startsWith(".")) throw anchorNotFound(which, anchorId, "is a server-default rule, which user rules cannot be placed against");
    const anchor = list.findIndex((r) => r.rule_id === anchorId);
    if (anchor < 0) throw anchorNotFound(which, anchorId);
    list.splice(which === "before" ? anchor : anchor + 1, 0, rule);
    return withKind(stored, req.kind, list);
  });
}

/** DELETE /pushrules/global/{kind}/{ruleId}: user rules only. */
export function deletePushRule(owner: PushRuleOwner, stored: UserPushRules, kind: PushRuleKind, ruleId: string): PushRuleResult<UserPushRules> {
  return attempt(() => {
    if (defaultPushRuleset(owner.userId, owner)[kind].some((r) => r.rule_id === ruleId)) {
      throw MatrixError.invalidParam("rule_id", `${ruleId} is a server-default rule and cannot be deleted (disable it instead)`);
    }
    const list = stored.user[kind];
    if (!list.some((r) => r.rule_id === ruleId)) throw MatrixError.notFound(`no ${kind} push rule ${ruleId}`);
    return withKind(stored, kind, list.filter((r) => r.rule_id !== ruleId));
  });
}

/** GET /pushrules/global/{kind}/{ruleId} (and its /enabled and /actions). */
export function getPushRule(ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRuleResult<PushRule> {
  const r = ruleset[kind].find((x) => x.rule_id === ruleId);
  return r ? { ok: true, value: r } : { ok: false, error: MatrixError.notFound(`no ${kind} push rule ${ruleId}`) };
}

function change(
  owner: PushRuleOwner,
  stored: UserPushRules,
  kind: PushRuleKind,
  ruleId: string,
  c: DefaultRuleChange,
): UserPushRules {
  const list = stored.user[kind];
  const at = list.findIndex((r) => r.rule_id === ruleId);
  if (at >= 0) return withKind(stored, kind, list.map((r, i) => (i === at ? applyChange(r, c) : r)));
  if (!defaultPushRuleset(owner.userId, owner)[kind].some((r) => r.rule_id === ruleId)) {
    throw MatrixError.notFound(`no ${kind} push rule ${ruleId}`);
  }
  const key = `${kind}/${ruleId}`;
  return { ...stored, defaults: { ...stored.defaults, [key]: { ...stored.defaults[key], ...c } } };
}

/** Reads a `{...}` body into a change and applies it to a user or server-default rule. */
function changeFromBody(read: (body: Record<string, unknown>) => DefaultRuleChange) {
  return (owner: PushRuleOwner, stored: UserPushRules, kind: PushRuleKind, ruleId: string, body: unknown): PushRuleResult<UserPushRules> =>
    attempt(() => {
      if (!isObject(body)) throw MatrixError.badJson("body: must be a JSON object");
      return change(owner, stored, kind, ruleId, read(body));
    });
}

/** PUT /pushrules/global/{kind}/{ruleId}/enabled with `{"enabled": boolean}`. */
export const setPushRuleEnabled = changeFromBody((body) => {
  const enabled: unknown = body["enabled"];
  if (enabled === undefined) throw MatrixError.missingParam("enabled");
  if (typeof enabled !== "boolean") throw MatrixError.badJson("enabled: must be a boolean");
  return { enabled };
});

/** PUT /pushrules/global/{kind}/{ruleId}/actions with `{"actions": [...]}`. */
export const setPushRuleActions = changeFromBody((body) => ({ actions: parseActions(body["actions"]) }));
