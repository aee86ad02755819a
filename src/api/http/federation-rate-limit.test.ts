/**
 * rc_federation in the HTTP layer (HttpAppOptions.federationRateLimiter) with the real FederationRateLimiter, on
 * real sockets: every x-matrix route runs under it per verified origin, after authentication; a route with
 * ownFederationRateLimit and an auth "none" route are left out; a request whose client closed its socket while it
 * waited for its turn is not processed. The origin is taken from the X-Matrix header by a stand-in verifier (the
 * real one is test/integration/federation-rate-limit.test.ts's).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { request as httpRequest } from "node:http";
import { pino } from "pino";
import { z } from "zod";
import type { Clock } from "../../core/clock.js";
import { MatrixError } from "../../core/errors.js";
import type { ServerName } from "../../core/ids/index.js";
import { FederationRateLimiter, type FederationRateLimitConfig } from "../federation/rate-limit.js";
import { createHttpApp, defineFederationRoute, type FederationAuthRequest } from "./index.js";

interface Deps {
  calls: string[];
  /** While set, /held handlers wait for it. */
  hold: Promise<void> | undefined;
}

const profile = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/query/profile",
  auth: "x-matrix",
  query: z.object({ n: z.string() }),
  handle: ({ origin, query }, d: Deps) => {
    d.calls.push(`profile ${origin} ${query.n}`);
    return {};
  },
});

const held = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/held/:n",
  auth: "x-matrix",
  async handle({ origin, params }, d: Deps) {
    d.calls.push(`held ${origin} ${params.n}`);
    await d.hold;
    return {};
  },
});

const ownLimit = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v1/send/:txnId",
  auth: "x-matrix",
  ownFederationRateLimit: true,
  handle: ({ origin, params }, d: Deps) => {
    d.calls.push(`send ${origin} ${params.txnId}`);
    return { pdus: {} };
  },
});

const version = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/version",
  auth: "none",
  handle: (_i, d: Deps) => {
    d.calls.push("version");
    return { server: { name: "Test" } };
  },
});

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** A verifier standing in for X-Matrix: the origin is the header's origin="..."; "bad" is refused. */
async function verify(req: FederationAuthRequest): Promise<{ origin: ServerName }> {
  const origin = /origin="([^"]+)"/.exec(req.authorization[0] ?? "")?.[1];
  if (!origin || origin === "bad.example") throw MatrixError.unauthorized("bad signature");
  return { origin: origin as ServerName };
}

function makeApp(cfg: Partial<FederationRateLimitConfig>) {
  const deps: Deps = { calls: [], hold: undefined };
  const limiter = new FederationRateLimiter({ window_size: 60_000, sleep_limit: 1000, sleep_delay: 0, reject_limit: 1000, concurrent: 10, ...cfg }, clock);
  const app = createHttpApp({ routes: [profile, held, ownLimit, version], deps, logger: pino({ level: "silent" }), federationAuth: { authenticate: verify }, federationRateLimiter: limiter });
  return { app, deps, limiter };
}

const as = (origin: string) => ({ authorization: `X-Matrix origin="${origin}",key="ed25519:a",sig="s"` });

describe("the HTTP layer's rc_federation around x-matrix routes", () => {
  it("refuses an origin's requests past reject_limit with 429 M_LIMIT_EXCEEDED and Retry-After, per origin, counting only authenticated requests", async () => {
    const { app, deps } = makeApp({ reject_limit: 2 });
    try {
      const get = (origin: string, n: number) => app.inject({ method: "GET", url: `/_matrix/federation/v1/query/profile?n=${n}`, headers: as(origin) });
      // Refused at authentication: not counted against anyone.
      for (let i = 0; i < 3; i++) assert.equal((await get("bad.example", i)).statusCode, 401);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get("a.example", i)).statusCode);
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      const refused = await get("a.example", 9);
      assert.equal(JSON.parse(refused.body).errcode, "M_LIMIT_EXCEEDED");
      assert.equal(refused.headers["retry-after"], "60");
      assert.equal((await get("b.example", 0)).statusCode, 200, "another origin is not refused");
      assert.deepEqual(deps.calls, ["profile a.example 0", "profile a.example 1", "profile b.example 0"]);
    } finally {
      await app.close();
    }
  });

  it("leaves out routes with ownFederationRateLimit and unauthenticated routes", async () => {
    const { app, deps } = makeApp({ reject_limit: 1 });
    try {
      assert.equal((await app.inject({ method: "GET", url: "/_matrix/federation/v1/query/profile?n=0", headers: as("a.example") })).statusCode, 200);
      assert.equal((await app.inject({ method: "GET", url: "/_matrix/federation/v1/query/profile?n=1", headers: as("a.example") })).statusCode, 429);
      for (let i = 0; i < 3; i++) {
        assert.equal((await app.inject({ method: "PUT", url: `/_matrix/federation/v1/send/t${i}`, headers: as("a.example"), body: "{}" })).statusCode, 200);
        assert.equal((await app.inject({ method: "GET", url: "/_matrix/federation/v1/version", headers: as("a.example") })).statusCode, 200);
      }
      assert.equal(deps.calls.filter((c) => c.startsWith("send")).length, 3);
      assert.equal(deps.calls.filter((c) => c === "version").length, 3);
    } finally {
      await app.close();
    }
  });

  it("processes at most `concurrent` requests of an origin at once, and skips one whose client closed while it waited", async () => {
    const { app, deps, limiter } = makeApp({ concurrent: 1 });
    const { port } = await app.listen({ host: "127.0.0.1", port: 0 });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "GET", path, headers: as("a.example"), agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end();
      });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(cond(), "timed out");
    };
    try {
      let release!: () => void;
      deps.hold = new Promise((r) => (release = r));
      const first = get("/_matrix/federation/v1/held/1");
      await until(() => deps.calls.length === 1);
      // The second waits for the first's turn to end; its client then goes away.
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write(`GET /_matrix/federation/v1/held/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${as("a.example").authorization}\r\n\r\n`);
      const third = get("/_matrix/federation/v1/held/3");
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(deps.calls, ["held a.example 1"], "one at a time");
      assert.equal(limiter.running("a.example"), 1);
      socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      release();
      assert.equal(await first, 200);
      assert.equal(await third, 200);
      assert.deepEqual(deps.calls, ["held a.example 1", "held a.example 3"], "the request whose client left was not processed");
    } finally {
      await app.close({ graceMs: 100 });
    }
  });
});
