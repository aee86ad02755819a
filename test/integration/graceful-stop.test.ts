/**
 * A stop (SIGTERM, SIGINT or stop()) finishes every request already in
 * flight, refuses new connections, then closes the database.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { defineRoute, type Route } from "../../src/api/http/index.js";
import { canConnect } from "../harness/ports.js";
import { startTestServer } from "../harness/server.js";
import { okJson, startRoomsServer } from "../harness/rooms-server.js";
import type { Clock } from "../../src/core/clock.js";

/**
 * Sends the headers and half a body now; the rest when `finish` is called. Resolves with the full response.
 * `reached` resolves once the server holds the request: it asks with `Expect: 100-continue`, which Node's server
 * answers with `100 Continue` when the request reaches its handler (so no sleep has to guess when that is).
 */
function slowUpload(port: number, path: string): { finish: () => void; reached: Promise<void>; response: Promise<{ status: number; body: string; at: number }> } {
  let finish!: () => void;
  let reachedNow!: () => void;
  const reached = new Promise<void>((r) => (reachedNow = r));
  const response = new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
    const body = JSON.stringify({ filler: "x".repeat(2000) });
    const req = httpRequest({ host: "127.0.0.1", port, method: "PUT", path, headers: { "content-type": "application/json", "content-length": String(body.length), expect: "100-continue" } }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, at: Date.now() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.on("continue", () => reachedNow());
    req.write(body.slice(0, 1000));
    finish = () => req.end(body.slice(1000));
  });
  return { finish, reached, response };
}

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

describe("graceful stop", () => {
  it("finishes every request in flight when SIGTERM arrives, then exits 0 (child process)", { timeout: 40_000 }, async () => {
    const zion = await startTestServer({ mode: "child" });
    const port = zion.listeners.find((l) => !l.tls)!.port;
    const uploads = Array.from({ length: 20 }, (_, i) => slowUpload(port, `/_matrix/client/v3/no-such-endpoint/t${i}`));
    await Promise.all(uploads.map((u) => u.reached)); // every request has reached the server and waits for its body
    const exited = zion.stop(); // SIGTERM
    await new Promise((r) => setTimeout(r, 300));
    const finishedAt = Date.now();
    for (const u of uploads) u.finish();
    const responses = await Promise.all(uploads.map((u) => u.response));
    for (const r of responses) {
      assert.ok(r.at >= finishedAt, "the response came after the body, so the request was in flight at SIGTERM");
      assert.equal(r.status, 404, r.body); // an unknown endpoint: a complete Matrix error, not a cut connection
      assert.equal((JSON.parse(r.body) as Record<string, unknown>)["errcode"], "M_UNRECOGNIZED");
    }
    assert.equal(await exited, 0, zion.output.stderr);
    assert.match(zion.output.stdout, /"msg":"stopped"/);
    assert.equal(await canConnect("127.0.0.1", port), false);
  });

  it("lets slow handlers finish, refuses new connections meanwhile, and closes the database (in-process stop())", { timeout: 30_000 }, async () => {
    let started = 0;
    const slow = defineRoute({
      method: "GET",
      path: "/_matrix/client/v3/slow/:n",
      auth: "none",
      resource: "client",
      async handle({ params }) {
        started++;
        await new Promise((r) => setTimeout(r, 500));
        return { n: Number(params.n) };
      },
    });
    const zion = await startTestServer({ startOptions: { extraRoutes: [slow as Route<never>] } });
    const port = zion.listeners.find((l) => !l.tls)!.port;
    const calls = Array.from({ length: 20 }, (_, n) => fetch(`${zion.clientUrl}/_matrix/client/v3/slow/${n}`).then(async (r) => ({ status: r.status, body: (await r.json()) as { n: number } })));
    while (started < 20) await new Promise((r) => setTimeout(r, 10));
    assert.equal(zion.homeserver!.inFlight(), 20);
    const stopping = zion.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await canConnect("127.0.0.1", port), false, "no new connections while stopping");
    const results = await Promise.all(calls);
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
    assert.deepEqual(results.map((r) => r.body.n), Array.from({ length: 20 }, (_, n) => n));
    await stopping;
    await assert.rejects(() => zion.homeserver!.storage.ping(), "the database is closed after the stop");
  });

  it("answers waiting long-poll /syncs at once with a normal 200 instead of holding the stop for their timeout (in-process stop())", { timeout: 20_000 }, async () => {
    // The grace period (30 s) and the syncs' timeout (60 s) are both longer than this test's, so without the wake
    // at stop the test times out.
    const { zion, call, register } = await startRoomsServer({}, realClock);
    const users = await Promise.all(["lp1", "lp2", "lp3"].map(register));
    const since = await Promise.all(users.map(async (u) => String(okJson(await call("GET", "/_matrix/client/v3/sync?timeout=0", undefined, u.token))["next_batch"])));
    const polls = users.map((u, i) => call("GET", `/_matrix/client/v3/sync?timeout=60000&since=${encodeURIComponent(since[i]!)}`, undefined, u.token));
    while (zion.homeserver!.notifier.waiting() < 3) await new Promise((r) => setTimeout(r, 20));
    const stopping = zion.stop();
    const answers = await Promise.all(polls);
    for (const a of answers) assert.equal(typeof okJson(a)["next_batch"], "string", "a complete sync answer the client can resume from");
    assert.equal(zion.homeserver!.notifier.waiting(), 0);
    await stopping;
  });

  it("does not wait for connections that never sent a request (undici opens one after an aborted fetch): they are closed at once", { timeout: 20_000 }, async () => {
    // The grace period (30 s) is longer than this test's timeout, so a stop that waited for the idle connection fails.
    const zion = await startTestServer({});
    const port = zion.listeners.find((l) => !l.tls)!.port;
    const sock = connect({ host: "127.0.0.1", port });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    sock.on("error", () => {});
    await zion.stop();
    await closed;
    assert.equal(sock.destroyed, true);
  });
});
