/**
 * A Zion for the client room suites (client-rooms, client-relations): registration open, generous rate limits
 * unless overridden, an injected clock, a cheap password hash, on SQLite or PostgreSQL; a caller and a
 * registration helper.
 */
import assert from "node:assert/strict";
import { scryptHasher } from "../../src/api/index.js";
import type { Clock } from "../../src/core/clock.js";
import type { UserId } from "../../src/core/ids/index.js";
import { clientCaller, type Reply } from "./http-get.js";
import { startTestServer } from "./server.js";
import type { StartOptions } from "../../src/app/homeserver.js";

export interface RoomsClient {
  userId: UserId;
  token: string;
}

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
/** homeserver.yaml keys for open registration with Synapse's rate limits out of the way of the tests' bursts. */
export const OPEN_REGISTRATION: Readonly<Record<string, unknown>> = {
  enable_registration: true,
  enable_registration_without_verification: true,
  rc_login: { address: generous, account: generous, failed_attempts: generous },
  rc_registration: generous,
  rc_message: generous,
  rc_joins: { local: generous, remote: generous },
  rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
};
const cheap = scryptHasher({ ln: 10 });

export async function startRoomsServer(databaseConfig: Record<string, unknown>, clock: Clock, limits: Record<string, unknown> = {}, startOptions: Omit<StartOptions, "clock" | "passwordHasher"> = {}) {
  const zion = await startTestServer({
    config: {
      ...databaseConfig,
      ...OPEN_REGISTRATION,
      ...limits,
    },
    startOptions: { ...startOptions, clock, passwordHasher: cheap },
  });
  const call = clientCaller(() => zion.clientUrl);
  const register = async (username: string): Promise<RoomsClient> => {
    const r = await call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    const j = r.json();
    return { userId: j["user_id"] as UserId, token: j["access_token"] as string };
  };
  return { zion, call, register };
}

/** The JSON of a 200 reply (the body in the failure message otherwise). */
export const okJson = (r: Reply): Record<string, unknown> => {
  assert.equal(r.status, 200, r.body);
  return r.json();
};
