import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { pino } from "pino";
import { z } from "zod";
import { MatrixError } from "../../core/errors.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import { createHttpApp, defineClientRoute, defineFederationRoute, defineRoute, HttpResponse, type FederationAuthRequest, type HttpApp } from "./index.js";

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

interface Deps {
  calls: string[];
}

const echo = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/echo/:thing",
  auth: "none",
  body: z.object({ msg: z.string(), n: z.number().int().optional() }),
  maxBodyBytes: 256,
  handle: ({ params, body }, { calls }: Deps) => {
    calls.push(`echo ${params.thing}`);
    return { thing: params.thing, msg: body.msg };
  },
});

const fails = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/fails/:how",
  auth: "none",
  handle: ({ params }) => {
    if (params.how === "matrix") throw new MatrixError("M_LIMIT_EXCEEDED", 429, "slow down", { retry_after_ms: 500 });
    throw new Error("database exploded");
  },
});

const queried = defineRoute({
  method: "GET",
  path: "/_matrix/client/v3/count",
  auth: "none",
  resource: "client",
  query: z.object({ limit: z.coerce.number().int().min(1).max(10) }),
  handle: ({ query }) => ({ limit: query.limit }),
});

const signed = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v1/send/:txnId",
  auth: "x-matrix",
  body: z.object({ origin: z.string(), pdus: z.array(z.unknown()) }),
  handle: ({ origin, params, body }, { calls }: Deps) => {
    calls.push(`send ${origin} ${params.txnId}`);
    return { origin, pdus: body.pdus.length };
  },
});

const version = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/version",
  auth: "none",
  handle: () => ({ server: { name: "Test" } }),
});

const text = defineRoute({
  method: "GET",
  path: "/health",
  auth: "none",
  resource: "public",
  cors: false,
  handle: () => HttpResponse.text(200, "OK"),
});

const whoami = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/account/whoami",
  auth: "access-token",
  handle: ({ user }, { calls }: Deps) => {
    calls.push(`whoami ${user.userId}`);
    return { user_id: user.userId, device_id: user.deviceId };
  },
});

const routes = [echo, fails, queried, signed, version, text, whoami];

function makeApp(opts: { auth?: (r: FederationAuthRequest) => Promise<{ origin: ServerName }>; whitelist?: (o: ServerName) => boolean; tokens?: Record<string, string> } = {}) {
  const deps: Deps = { calls: [] };
  const { logger, lines } = captureLogger();
  const app = createHttpApp({
    routes,
    deps,
    logger,
    ...(opts.auth ? { federationAuth: { authenticate: opts.auth } } : {}),
    ...(opts.whitelist ? { federationOriginAllowed: opts.whitelist } : {}),
    ...(opts.tokens
      ? { accessTokenAuth: { authenticate: async (t: string) => (opts.tokens![t] ? { userId: opts.tokens![t] as UserId, deviceId: "DEV" } : null) } }
      : {}),
  });
  return { app, deps, lines };
}

const json = (body: string): Record<string, unknown> => JSON.parse(body) as Record<string, unknown>;

describe("HTTP layer: errors", () => {
  const { app } = makeApp();
  after(() => app.close());

  it("answers an unknown path with 404 M_UNRECOGNIZED as application/json", async () => {
    const r = await app.inject({ method: "GET", url: "/_matrix/federation/v1/nope" });
    assert.equal(r.statusCode, 404);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(json(r.body)["errcode"], "M_UNRECOGNIZED");
  });

  it("answers a known path with another method with 405 M_UNRECOGNIZED and Allow", async () => {
    const r = await app.inject({ method: "DELETE", url: "/_matrix/federation/v1/version" });
    assert.equal(r.statusCode, 405);
    assert.equal(json(r.body)["errcode"], "M_UNRECOGNIZED");
    assert.equal(r.headers["allow"], "GET, HEAD");
    assert.equal(r.headers["content-type"], "application/json");
  });

  it("answers errors the router raises before any route (bad percent-encoding, an over-long path segment) as Matrix errors", async () => {
    const bad = await app.inject({ method: "GET", url: "/_matrix/client/v3/count/%zz" });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers["content-type"], "application/json");
    assert.equal(bad.headers["access-control-allow-origin"], "*", "a client path keeps its CORS headers");
    assert.equal(json(bad.body)["errcode"], "M_UNRECOGNIZED");
    const long = await app.inject({ method: "PUT", url: `/_matrix/federation/v1/send/${"t".repeat(3000)}`, body: "{}" });
    assert.equal(long.statusCode, 414);
    assert.equal(long.headers["content-type"], "application/json");
    assert.equal(json(long.body)["errcode"], "M_TOO_LARGE");
  });

  it("renders a MatrixError with its status, errcode and extra fields", async () => {
    const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/fails/matrix" });
    assert.equal(r.statusCode, 429);
    assert.deepEqual(json(r.body), { errcode: "M_LIMIT_EXCEEDED", error: "slow down", retry_after_ms: 500 });
  });

  it("renders any other error as 500 M_UNKNOWN naming the request id, and logs it with that id", async () => {
    const { app: a, lines } = makeApp();
    try {
      const r = await a.inject({ method: "GET", url: "/_matrix/client/v3/fails/other" });
      assert.equal(r.statusCode, 500);
      const body = json(r.body);
      assert.equal(body["errcode"], "M_UNKNOWN");
      assert.doesNotMatch(String(body["error"]), /database exploded/, "internal details stay in the log");
      const id = /request ([0-9a-f]+-[0-9a-z]+)/.exec(String(body["error"]))?.[1];
      assert.ok(id, String(body["error"]));
      const logged = lines.find((l) => l["msg"] === "unhandled error");
      assert.equal(logged?.["request_id"], id);
      assert.match(JSON.stringify(logged?.["err"]), /database exploded/);
    } finally {
      await a.close();
    }
  });

  it("refuses a body that is not JSON with 400 M_NOT_JSON", async () => {
    const r = await app.inject({ method: "POST", url: "/_matrix/client/v3/echo/a", headers: { "content-type": "application/json" }, body: "{nope" });
    assert.equal(r.statusCode, 400);
    assert.equal(json(r.body)["errcode"], "M_NOT_JSON");
  });

  it("refuses an empty body where JSON is expected with M_NOT_JSON", async () => {
    const r = await app.inject({ method: "POST", url: "/_matrix/client/v3/echo/a" });
    assert.equal(r.statusCode, 400);
    assert.equal(json(r.body)["errcode"], "M_NOT_JSON");
  });

  it("refuses JSON of the wrong shape with 400 M_BAD_JSON naming the field", async () => {
    const r = await app.inject({ method: "POST", url: "/_matrix/client/v3/echo/a", body: JSON.stringify({ msg: 5 }) });
    assert.equal(r.statusCode, 400);
    const body = json(r.body);
    assert.equal(body["errcode"], "M_BAD_JSON");
    assert.match(String(body["error"]), /^body\.msg: /);
  });

  it("accepts JSON without a Content-Type header", async () => {
    const r = await app.inject({ method: "POST", url: "/_matrix/client/v3/echo/x%2Fy", body: JSON.stringify({ msg: "hi" }) });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(json(r.body), { thing: "x/y", msg: "hi" });
  });

  it("refuses a body over the route's limit with 413 M_TOO_LARGE", async () => {
    const r = await app.inject({ method: "POST", url: "/_matrix/client/v3/echo/a", body: JSON.stringify({ msg: "x".repeat(300) }) });
    assert.equal(r.statusCode, 413);
    const body = json(r.body);
    assert.equal(body["errcode"], "M_TOO_LARGE");
    assert.match(String(body["error"]), /256 bytes/);
  });

  it("refuses a bad query parameter with 400 M_INVALID_PARAM naming it", async () => {
    const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/count?limit=99" });
    assert.equal(r.statusCode, 400);
    assert.equal(json(r.body)["errcode"], "M_INVALID_PARAM");
    assert.match(String(json(r.body)["error"]), /^query\.limit: /);
    assert.deepEqual(json((await app.inject({ method: "GET", url: "/_matrix/client/v3/count?limit=3" })).body), { limit: 3 });
  });
});

describe("HTTP layer: headers", () => {
  const { app } = makeApp();
  after(() => app.close());

  it("adds the CORS headers to client routes, including their errors", async () => {
    for (const url of ["/_matrix/client/v3/count?limit=1", "/_matrix/client/v3/count", "/_matrix/client/v3/unknown"]) {
      const r = await app.inject({ method: "GET", url });
      assert.equal(r.headers["access-control-allow-origin"], "*", url);
      assert.equal(r.headers["access-control-allow-methods"], "GET, POST, PUT, DELETE, OPTIONS", url);
      assert.equal(r.headers["access-control-allow-headers"], "X-Requested-With, Content-Type, Authorization", url);
    }
  });

  it("answers a CORS preflight (OPTIONS) on client paths with 204 and the CORS headers", async () => {
    const r = await app.inject({ method: "OPTIONS", url: "/_matrix/client/v3/echo/a" });
    assert.equal(r.statusCode, 204);
    assert.equal(r.headers["access-control-allow-origin"], "*");
  });

  it("leaves CORS headers off federation routes", async () => {
    const r = await app.inject({ method: "GET", url: "/_matrix/federation/v1/version" });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers["access-control-allow-origin"], undefined);
  });

  it("sends every JSON response, success or error, as exactly application/json", async () => {
    for (const [method, url] of [["GET", "/_matrix/federation/v1/version"], ["GET", "/x"], ["PUT", "/_matrix/federation/v1/send/1"]] as const) {
      const r = await app.inject({ method, url, body: "{}" });
      assert.equal(r.headers["content-type"], "application/json", `${method} ${url}`);
    }
  });

  it("sends a text response with its own content type", async () => {
    const r = await app.inject({ method: "GET", url: "/health" });
    assert.equal(r.body, "OK");
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
  });
});

describe("HTTP layer: X-Matrix routes", () => {
  it("refuses signed routes with 401 M_UNAUTHORIZED by default, without running the handler", async () => {
    const { app, deps } = makeApp();
    try {
      const r = await app.inject({ method: "PUT", url: "/_matrix/federation/v1/send/t1", body: JSON.stringify({ origin: "a", pdus: [] }) });
      assert.equal(r.statusCode, 401);
      assert.equal(json(r.body)["errcode"], "M_UNAUTHORIZED");
      assert.deepEqual(deps.calls, []);
    } finally {
      await app.close();
    }
  });

  it("passes method, raw uri, every Authorization header and the parsed body to the verifier, then the origin to the handler", async () => {
    const seen: FederationAuthRequest[] = [];
    const { app, deps } = makeApp({
      auth: async (req) => {
        seen.push(req);
        return { origin: "remote.example" as ServerName };
      },
    });
    try {
      const r = await app.inject({
        method: "PUT",
        url: "/_matrix/federation/v1/send/t%201?x=1&y=%2F",
        headers: { authorization: 'X-Matrix origin="remote.example",key="ed25519:a",sig="s"' },
        body: JSON.stringify({ origin: "remote.example", pdus: [1, 2] }),
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(json(r.body), { origin: "remote.example", pdus: 2 });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.method, "PUT");
      assert.equal(seen[0]!.uri, "/_matrix/federation/v1/send/t%201?x=1&y=%2F");
      assert.deepEqual(seen[0]!.authorization, ['X-Matrix origin="remote.example",key="ed25519:a",sig="s"']);
      assert.deepEqual(seen[0]!.body, { origin: "remote.example", pdus: [1, 2] });
      assert.deepEqual(deps.calls, ["send remote.example t 1"]);
    } finally {
      await app.close();
    }
  });

  it("checks the verified origin against the federation whitelist before the handler (403 M_FORBIDDEN)", async () => {
    const { app, deps } = makeApp({ auth: async () => ({ origin: "evil.example" as ServerName }), whitelist: (o) => o === "friend.example" });
    try {
      const r = await app.inject({ method: "PUT", url: "/_matrix/federation/v1/send/t", body: JSON.stringify({ origin: "evil.example", pdus: [] }) });
      assert.equal(r.statusCode, 403);
      assert.equal(json(r.body)["errcode"], "M_FORBIDDEN");
      assert.match(String(json(r.body)["error"]), /evil\.example/);
      assert.deepEqual(deps.calls, []);
    } finally {
      await app.close();
    }
  });

  it("authenticates before validating the body, so unauthenticated callers learn nothing of the schema", async () => {
    const { app } = makeApp();
    try {
      const r = await app.inject({ method: "PUT", url: "/_matrix/federation/v1/send/t", body: JSON.stringify({ wrong: true }) });
      assert.equal(r.statusCode, 401);
    } finally {
      await app.close();
    }
  });
});

describe("HTTP layer: sockets", () => {
  let app: HttpApp;
  after(() => app?.close());

  it("listens on an ephemeral port and logs one line per request with its request id", async () => {
    const made = makeApp();
    app = made.app;
    const b = await app.listen({ host: "127.0.0.1", port: 0 });
    assert.ok(b.port > 0);
    const res = await fetch(`http://127.0.0.1:${b.port}/_matrix/federation/v1/version`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const line = made.lines.find((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/version");
    assert.ok(line, JSON.stringify(made.lines));
    assert.match(String(line["request_id"]), /^[0-9a-f]+-[0-9a-z]+$/);
    assert.equal(line["status"], 200);
  });

  it("refuses a streamed body over the limit with 413 M_TOO_LARGE", async () => {
    const port = app.bound[0]!.port;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/_matrix/client/v3/echo/a", headers: { "transfer-encoding": "chunked" } }, (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      });
      req.on("error", reject);
      req.write(`{"msg":"${"y".repeat(200)}`);
      req.end(`${"z".repeat(200)}"}`);
    });
    assert.equal(status, 413);
    assert.equal(json(body)["errcode"], "M_TOO_LARGE");
  });
});

describe("HTTP layer: access-token routes", () => {
  it("answers 401 M_MISSING_TOKEN without a token and 401 M_UNKNOWN_TOKEN for an unknown one, without running the handler", async () => {
    const { app, deps } = makeApp({ tokens: { good: "@a:zion.test" } });
    try {
      const missing = await app.inject({ method: "GET", url: "/_matrix/client/v3/account/whoami" });
      assert.equal(missing.statusCode, 401);
      assert.equal(json(missing.body)["errcode"], "M_MISSING_TOKEN");
      const unknown = await app.inject({ method: "GET", url: "/_matrix/client/v3/account/whoami", headers: { authorization: "Bearer bad" } });
      assert.equal(unknown.statusCode, 401);
      assert.equal(json(unknown.body)["errcode"], "M_UNKNOWN_TOKEN");
      assert.deepEqual(deps.calls, []);
    } finally {
      await app.close();
    }
  });

  it("hands the token's user to the handler, from the Authorization header or the access_token parameter", async () => {
    const { app, deps } = makeApp({ tokens: { good: "@a:zion.test" } });
    try {
      const viaHeader = await app.inject({ method: "GET", url: "/_matrix/client/v3/account/whoami", headers: { authorization: "Bearer good" } });
      assert.deepEqual(json(viaHeader.body), { user_id: "@a:zion.test", device_id: "DEV" });
      const viaQuery = await app.inject({ method: "GET", url: "/_matrix/client/v3/account/whoami?access_token=good" });
      assert.equal(viaQuery.statusCode, 200);
      assert.deepEqual(deps.calls, ["whoami @a:zion.test", "whoami @a:zion.test"]);
    } finally {
      await app.close();
    }
  });

  it("knows no token at all when the app wires no lookup", async () => {
    const { app } = makeApp();
    try {
      const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/account/whoami", headers: { authorization: "Bearer anything" } });
      assert.equal(json(r.body)["errcode"], "M_UNKNOWN_TOKEN");
    } finally {
      await app.close();
    }
  });
});

describe("HTTP layer: proxies", () => {
  const remote = defineRoute({
    method: "GET",
    path: "/_matrix/client/v3/remote",
    auth: "none",
    resource: "client",
    handle: ({ request }) => ({ remote: request.remoteAddress, id: request.requestId }),
  });

  it("takes the client address from X-Forwarded-For only on an x_forwarded listener", async () => {
    for (const trustProxy of [true, false]) {
      const { logger } = captureLogger();
      const app = createHttpApp({ routes: [remote], deps: {}, logger, trustProxy });
      try {
        const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/remote", headers: { "x-forwarded-for": "203.0.113.7" } });
        assert.equal(json(r.body)["remote"] === "203.0.113.7", trustProxy, r.body);
      } finally {
        await app.close();
      }
    }
  });

  /** GET /remote over a real socket from `localAddress`, with an X-Forwarded-For header. */
  function fromPeer(port: number, localAddress: string, forwardedFor: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, localAddress, path: "/_matrix/client/v3/remote", headers: { "x-forwarded-for": forwardedFor } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(String(json(body)["remote"])));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("believes X-Forwarded-For only from trusted_proxies, and from loopback by default", async () => {
    const { logger } = captureLogger();
    const listed = createHttpApp({ routes: [remote], deps: {}, logger, trustProxy: true, trustedProxies: ["127.0.0.2"] });
    const byDefault = createHttpApp({ routes: [remote], deps: {}, logger, trustProxy: true });
    try {
      const a = await listed.listen({ host: "127.0.0.1", port: 0 });
      assert.equal(await fromPeer(a.port, "127.0.0.2", "203.0.113.7"), "203.0.113.7", "a listed proxy is believed");
      assert.equal(await fromPeer(a.port, "127.0.0.1", "203.0.113.7"), "127.0.0.1", "any other peer is not");
      assert.equal(await fromPeer(a.port, "127.0.0.2", "203.0.113.7, 127.0.0.1"), "127.0.0.1", "the last address not trusted counts");
      const b = await byDefault.listen({ host: "127.0.0.1", port: 0 });
      assert.equal(await fromPeer(b.port, "127.0.0.5", "198.51.100.1"), "198.51.100.1", "loopback is trusted by default");
    } finally {
      await listed.close();
      await byDefault.close();
    }
  });

  it("takes the request id from request_id_header when the proxy sends one, and logs it", async () => {
    const { logger, lines } = captureLogger();
    const app = createHttpApp({ routes: [remote], deps: {}, logger, requestIdHeader: "X-Request-ID" });
    try {
      const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/remote", headers: { "x-request-id": "proxy-42" } });
      assert.equal(json(r.body)["id"], "proxy-42");
      assert.ok(lines.some((l) => l["msg"] === "request" && l["request_id"] === "proxy-42"));
      const own = await app.inject({ method: "GET", url: "/_matrix/client/v3/remote" });
      assert.notEqual(json(own.body)["id"], "proxy-42");
    } finally {
      await app.close();
    }
  });

  it("ignores a client-sent request id when no request_id_header is configured", async () => {
    const { logger } = captureLogger();
    const app = createHttpApp({ routes: [remote], deps: {}, logger });
    try {
      const r = await app.inject({ method: "GET", url: "/_matrix/client/v3/remote", headers: { "request-id": "forged", "x-request-id": "forged" } });
      assert.notEqual(json(r.body)["id"], "forged");
    } finally {
      await app.close();
    }
  });
});

describe("HTTP layer: requests Node's parser refuses", () => {
  /** Sends raw bytes and returns the status, headers and JSON body of the answer. */
  function raw(port: number, bytes: string): Promise<{ status: number; headers: string; body: { errcode?: string; error?: string } }> {
    return new Promise((resolve, reject) => {
      const c = connect(port, "127.0.0.1", () => c.write(bytes));
      let data = "";
      c.on("data", (d: Buffer) => (data += d.toString("latin1")));
      c.on("error", reject);
      c.on("close", () => {
        const [head = "", body = ""] = data.split("\r\n\r\n");
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
        try {
          resolve({ status, headers: head.toLowerCase(), body: JSON.parse(body) as { errcode?: string; error?: string } });
        } catch {
          reject(new Error(`not a JSON answer: ${JSON.stringify(data)}`));
        }
      });
    });
  }

  it("answers bad bytes in the path, a bad Content-Length, oversized headers and garbage with {errcode, error} JSON", async () => {
    const { logger } = captureLogger();
    const app = createHttpApp({ routes: [], deps: {}, logger });
    try {
      const { port } = await app.listen({ host: "127.0.0.1", port: 0 });
      const cases: [string, number, string, RegExp][] = [
        ["GET /_matrix/a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "M_UNRECOGNIZED", /path contains a byte not allowed in a URL/],
        ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "M_UNKNOWN", /Content-Length is not valid/],
        ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "M_UNKNOWN", /Content-Length is not valid \(Duplicate Content-Length\)/],
        [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431, "M_TOO_LARGE", /headers are larger than the limit of 16384 bytes/],
        ["GARBAGE\r\n\r\n", 400, "M_UNKNOWN", /malformed HTTP request/],
      ];
      for (const [bytes, status, errcode, message] of cases) {
        const r = await raw(port, bytes);
        assert.equal(r.status, status, bytes.slice(0, 40));
        assert.match(r.headers, /\r\ncontent-type: application\/json\r\n/);
        assert.match(r.headers, /\r\nconnection: close/);
        assert.equal(r.body.errcode, errcode);
        assert.match(r.body.error ?? "", message);
      }
    } finally {
      await app.close();
    }
  });
});
