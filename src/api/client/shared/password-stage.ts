/**
 * The m.login.password UIA stage for operations on one's own account (change password, deactivate, delete
 * devices): the identifier must name the requesting user, the password must be theirs. Failures count against
 * rc_login.failed_attempts like failed logins.
 */
import type { UserId } from "../../../core/ids/index.js";
import type { AccountDeps } from "../deps.js";
import { identifiedUser, passwordMatches } from "./identifier.js";
import { runUia, type UiaAuthBody } from "./uia.js";
import type { HttpResponse } from "../../http/index.js";

type Deps = Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits">;

export function requirePassword(deps: Deps, operation: string, userId: UserId, auth: UiaAuthBody | undefined): Promise<HttpResponse | undefined> {
  return runUia(deps.uia, {
    operation,
    userId,
    stage: "m.login.password",
    auth,
    async verify(a) {
      const fields = a as { identifier?: { type: string; user?: string }; user?: string; password?: unknown };
      if (typeof fields.password !== "string") return "auth.password: a string is required";
      if (fields.identifier !== undefined && (typeof fields.identifier !== "object" || fields.identifier === null || typeof fields.identifier.type !== "string")) return "auth.identifier: must be an object with a type";
      if (fields.user !== undefined && typeof fields.user !== "string") return "auth.user: must be a string";
      const named = fields.identifier === undefined && fields.user === undefined ? userId : identifiedUser(fields, deps.serverName, "auth.");
      if (named !== userId) return "auth: the identifier does not name the user of this access token";
      deps.rateLimits.check("rc_login.failed_attempts", userId);
      if (!(await passwordMatches(deps.users, deps.passwords, userId, fields.password))) {
        deps.rateLimits.record("rc_login.failed_attempts", userId);
        return "invalid password";
      }
      return undefined;
    },
  });
}
