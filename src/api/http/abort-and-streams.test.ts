/**
 * The HTTP layer's support for long polls and uploads, on real sockets: the handler's AbortSignal fires when the
 * client's socket closes (and not when the answer was sent), a route may read its body as a stream under the
 * limit, answer with a streamed body, or take an empty body as {}. A 429 M_LIMIT_EXCEEDED carries Retry-After.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { request as httpRequest } from "node:http";
import { pino } from "pino";
import { z } from "zod";
import { MatrixError } from "../../core/errors.js";
import { createHttpApp, defineClientRoute, HttpResponse, type HttpApp } from "./index.js";

interface Deps {
  started: Promise<void>;
  onStart(): void;
  aborted: Promise<string>;
  onAbort(reason: string): void;
  finishedSignals: AbortSignal[];
}

let resolveAborted: (reason: string) => void = () => {};
let resolveStarted: () => void = () => {};
const deps: Deps = {
  started: new Promise((r) => (resolveStarted = r)),
  onStart: () => resolveStarted(),
  aborted: new Promise((r) => (resolveAborted = r)),
  onAbort: (reason) => resolveAborted(reason),
  finishedSignals: [],
};

const longPoll = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/wait",
  auth: "none",
  handle: ({ signal }, d: Deps) =>
    new Promise((resolve) => {
      d.onStart();
      const timer = setTimeout(() => resolve({ timeout: true }), 30_000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        d.onAbort(String((signal.reason as Error).message));
        resolve({ aborted: true });
      });
    }),
});

const quick = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/quick",
  auth: "none",
  handle: ({ signal }, d: Deps) => {
    d.finishedSignals.push(signal);
    return { ok: true };
  },
});

const upload = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/upload",
  auth: "none",
  streamBody: true,
  maxBodyBytes: 1000,
  async handle({ bodyStream }) {
    let bytes = 0;
    let chunks = 0;
    for await (const chunk of bodyStream!) {
      bytes += chunk.length;
      chunks++;
    }
    return { bytes, chunks };
  },
});

const download = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/download",
  auth: "none",
  handle: () =>
    HttpResponse.stream(
      200,
      (async function* () {
        for (let i = 0; i < 3; i++) yield Buffer.from(`part${i};`);
      })(),
      "text/plain",
    ),
});

const optionalBody = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/optional",
  auth: "none",
  body: z.object({ auth: z.object({ type: z.string() }).optional() }),
  emptyBodyIsObject: true,
  handle: ({ body }) => ({ hasAuth: body.auth !== undefined }),
});

const limited = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/limited",
  auth: "none",
  handle: () => {
    throw MatrixError.limitExceeded(2_500);
  },
});

describe("HTTP abort signal and streamed bodies", () => {
  let app: HttpApp;
  let port: number;
  before(async () => {
    app = createHttpApp({ routes: [longPoll, quick, upload, download, optionalBody, limited], deps, logger: pino({ level: "silent" }) });
    port = (await app.listen({ host: "127.0.0.1", port: 0 })).port;
  });
  after(() => app.close({ graceMs: 100 }));

  const send = (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...headers }, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers }));
      });
      req.on("error", reject);
      req.end(body);
    });

  it("aborts the handler's signal when the client closes its socket mid-request", async () => {
    const before = app.inFlight();
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write("GET /_matrix/client/v3/wait HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await deps.started; // the handler is now waiting
    assert.equal(app.inFlight(), before + 1);
    socket.destroy();
    const reason = await Promise.race([deps.aborted, new Promise<string>((_, rej) => setTimeout(() => rej(new Error("the signal never fired")), 5_000))]);
    assert.match(reason, /closed the connection/);
  });

  it("leaves the signal alone when the answer was sent", async () => {
    const r = await send("GET", "/_matrix/client/v3/quick");
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(deps.finishedSignals.length, 1);
    assert.equal(deps.finishedSignals[0]!.aborted, false);
  });

  it("hands a streamed body to the handler as it arrives, chunk by chunk", async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/_matrix/client/v3/upload", headers: { "content-type": "application/octet-stream", "transfer-encoding": "chunked" }, agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write(Buffer.alloc(300, 1));
      setTimeout(() => {
        req.write(Buffer.alloc(300, 2));
        req.end();
      }, 50);
    });
    assert.equal(r.status, 200, r.body);
    const j = JSON.parse(r.body) as { bytes: number; chunks: number };
    assert.equal(j.bytes, 600);
    assert.ok(j.chunks >= 2, `two writes 50 ms apart arrive as separate chunks (got ${j.chunks})`);
  });

  it("refuses a streamed body over the limit with 413 M_TOO_LARGE, by Content-Length or while reading", async () => {
    const declared = await send("POST", "/_matrix/client/v3/upload", Buffer.alloc(1001));
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).errcode, "M_TOO_LARGE");
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/_matrix/client/v3/upload", headers: { "transfer-encoding": "chunked" }, agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(Buffer.alloc(1500));
    });
    assert.equal(chunked.status, 413, chunked.body);
    assert.equal(JSON.parse(chunked.body).errcode, "M_TOO_LARGE");
  });

  it("sends a streamed response body with its content type", async () => {
    const r = await send("GET", "/_matrix/client/v3/download");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain");
    assert.equal(r.body, "part0;part1;part2;");
  });

  it("takes an empty body as {} where the route says so, and still refuses non-JSON", async () => {
    assert.deepEqual(JSON.parse((await send("POST", "/_matrix/client/v3/optional")).body), { hasAuth: false });
    assert.deepEqual(JSON.parse((await send("POST", "/_matrix/client/v3/optional", '{"auth":{"type":"x"}}')).body), { hasAuth: true });
    const bad = await send("POST", "/_matrix/client/v3/optional", "nope");
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).errcode, "M_NOT_JSON");
  });

  it("adds Retry-After (whole seconds, rounded up) to 429 M_LIMIT_EXCEEDED", async () => {
    const r = await send("GET", "/_matrix/client/v3/limited");
    assert.equal(r.status, 429);
    assert.equal(r.headers["retry-after"], "3");
    assert.equal(JSON.parse(r.body).retry_after_ms, 2_500);
  });
});
