/**
 * User-interactive authentication: https://spec.matrix.org/v1.16/client-server-api/#user-interactive-authentication-api
 *
 * A request without `auth` gets 401 `{flows, params, session}`; the client repeats it with
 * `auth: {type, session, ...}`. A failed stage is 401 with the same fields plus `errcode`/`error`. Zion's flows
 * have one stage each (m.login.dummy for registration, m.login.password for the operations on an account), so a
 * request whose stage succeeds completes the whole flow.
 *
 * Sessions live in the database (UiaSessionStore), so several Zion processes on one PostgreSQL share them and a
 * restart between the 401 and the completing request keeps them. Each is bound to the operation and the user it was
 * created for, expires after `ttlMs`, and there are at most `maxSessions` (the oldest go first): unauthenticated
 * /register calls create them.
 */
import { z } from "zod";
import type { Clock } from "../../../core/clock.js";
import { MatrixError } from "../../../core/errors.js";
import type { UserId } from "../../../core/ids/index.js";
import type { UiaSessionStore } from "../../../storage/ports.js";
import { HttpResponse } from "../../http/index.js";
import { newSessionId } from "./tokens.js";

export type UiaStage = "m.login.dummy" | "m.login.password" | "m.login.registration_token";

export interface UiaSessions {
  create(operation: string, userId: UserId | undefined): Promise<string>;
  /** The session's binding, or undefined when unknown or expired. */
  get(id: string): Promise<{ operation: string; userId: UserId | undefined } | undefined>;
  delete(id: string): Promise<void>;
}

/** UIA sessions over the storage port; creating one also drops the expired ones. */
export function storedUiaSessions(store: UiaSessionStore, clock: Clock, options: { ttlMs?: number; maxSessions?: number } = {}): UiaSessions {
  const ttl = options.ttlMs ?? 15 * 60_000;
  const max = options.maxSessions ?? 10_000;
  return {
    async create(operation, userId) {
      const now = clock.now();
      const id = newSessionId();
      await store.create(id, { operation, userId: userId ?? null, createdTs: now }, { expireBeforeTs: now - ttl + 1, maxSessions: max });
      return id;
    },
    async get(id) {
      const s = await store.get(id, clock.now() - ttl + 1);
      return s ? { operation: s.operation, userId: s.userId ?? undefined } : undefined;
    },
    async delete(id) {
      await store.delete(id);
    },
  };
}

/** The `auth` object of a UIA request body (its stage fields are checked by the stage). */
export const UiaAuth = z.looseObject({ type: z.string().optional(), session: z.string().max(255).optional() });
export type UiaAuthBody = z.infer<typeof UiaAuth>;

export interface UiaRequest {
  readonly operation: string;
  readonly userId: UserId | undefined;
  readonly stage: UiaStage;
  readonly auth: UiaAuthBody | undefined;
  /** Checks the stage's fields; returns a reason when they are wrong (a 401 that keeps the session). */
  verify(auth: UiaAuthBody): Promise<string | undefined>;
}

/**
 * Runs the one-stage flow. Resolves to undefined when the stage is complete (the caller goes on), or to the 401
 * response to send. An unknown session, or one made for another operation or user, is 400 M_UNKNOWN.
 */
export async function runUia(sessions: UiaSessions, req: UiaRequest): Promise<HttpResponse | undefined> {
  const flows = [{ stages: [req.stage] }];
  if (req.auth === undefined) {
    return HttpResponse.json(401, { flows, params: {}, session: await sessions.create(req.operation, req.userId) });
  }
  let session = req.auth.session;
  if (session !== undefined) {
    const s = await sessions.get(session);
    if (!s) throw new MatrixError("M_UNKNOWN", 400, "auth.session: unknown or expired user-interactive auth session");
    if (s.operation !== req.operation || s.userId !== req.userId) throw new MatrixError("M_UNKNOWN", 400, "auth.session: the session was started for another request");
  }
  if (req.auth.type === undefined) {
    // Only the session: the client asks which stages remain.
    session ??= await sessions.create(req.operation, req.userId);
    return HttpResponse.json(401, { flows, params: {}, session, completed: [] });
  }
  if (req.auth.type !== req.stage) {
    throw new MatrixError("M_UNRECOGNIZED", 400, `auth.type: ${JSON.stringify(req.auth.type)} is not a stage of this flow; use ${req.stage}`);
  }
  const failure = await req.verify(req.auth);
  if (failure !== undefined) {
    session ??= await sessions.create(req.operation, req.userId);
    return HttpResponse.json(401, { errcode: "M_FORBIDDEN", error: failure, flows, params: {}, session, completed: [] });
  }
  if (session !== undefined) await sessions.delete(session);
  return undefined;
}
