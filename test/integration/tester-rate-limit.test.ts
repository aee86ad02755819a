/**
 * The federation tester's per-address rate limit behind `x_forwarded: true`: X-Forwarded-For counts only from a
 * peer in the listener's `trusted_proxies` (loopback by default), so varying the header from anywhere else does
 * not buy more tests. A real `zion start` (child process) with two client listeners on 127.0.0.1; the
 * requests come from real sockets bound to 127.0.0.1 or 127.0.0.2. Each test run aims at an IP literal on a closed
 * loopback port, so it ends at once and touches no network.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { startTestServer, type TestServer } from "../harness/server.js";

const LIMIT = 10; // TesterApi's default tests per address per minute

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

function call(port: number, localAddress: string, path: string, forwardedFor?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, localAddress, path, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("the federation tester's rate limit behind a proxy", { timeout: 90_000 }, () => {
  let zion: TestServer;
  let onlyListed: number; // trusted_proxies: [127.0.0.2]
  let loopback: number; // trusted_proxies absent: loopback
  let n = 0;
  const nextName = () => `/api/federation-ok?server_name=${encodeURIComponent(`127.0.0.1:${1 + n++}`)}`;

  before(async () => {
    zion = await startTestServer({
      mode: "child",
      config: {
        federation_tester: { enabled: true },
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", x_forwarded: true, trusted_proxies: ["127.0.0.2"], resources: [{ names: ["client"] }] },
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", x_forwarded: true, resources: [{ names: ["client"] }] },
        ],
      },
    });
    [onlyListed, loopback] = [zion.listeners[0]!.port, zion.listeners[1]!.port];
  });
  after(async () => {
    await zion?.stop();
  });

  it("counts a peer outside trusted_proxies by its own address, whatever X-Forwarded-For it sends", async () => {
    for (let i = 0; i < LIMIT; i++) {
      const r = await call(onlyListed, "127.0.0.1", nextName(), `198.51.100.${i}`);
      assert.equal(r.status, 200, r.body);
    }
    const refused = await call(onlyListed, "127.0.0.1", nextName(), "198.51.100.250");
    assert.equal(refused.status, 429);
    assert.equal(refused.contentType, "application/json", "the tester's errors are JSON like every other route's");
    assert.deepEqual(Object.keys(JSON.parse(refused.body) as object).sort(), ["errcode", "error", "retry_after_ms"]);
    assert.equal(refused.body, JSON.stringify(JSON.parse(refused.body)), "compact, not pretty-printed");
    assert.equal((JSON.parse(refused.body) as { errcode: string }).errcode, "M_LIMIT_EXCEEDED");
  });

  it("counts each client a trusted proxy forwards for separately, and one client once however it is forwarded", async () => {
    for (let i = 0; i < LIMIT + 2; i++) {
      const r = await call(onlyListed, "127.0.0.2", nextName(), `203.0.113.${i}`);
      assert.equal(r.status, 200, `client ${i}: ${r.body}`);
    }
    for (let i = 0; i < LIMIT; i++) assert.equal((await call(onlyListed, "127.0.0.2", nextName(), "192.0.2.1")).status, 200);
    assert.equal((await call(onlyListed, "127.0.0.2", nextName(), "192.0.2.1")).status, 429);
  });

  it("trusts a loopback proxy when trusted_proxies is not set, and counts an IPv6 client by its /64", async () => {
    for (let i = 0; i < LIMIT; i++) {
      const r = await call(loopback, "127.0.0.3", nextName(), `2001:db8:1:2::${(i + 1).toString(16)}`);
      assert.equal(r.status, 200, r.body);
    }
    assert.equal((await call(loopback, "127.0.0.3", nextName(), "2001:db8:1:2:ffff::1")).status, 429, "same /64");
    assert.equal((await call(loopback, "127.0.0.3", nextName(), "2001:db8:1:3::1")).status, 200, "another /64");
  });

  it("sends the report as compact application/json", async () => {
    const r = await call(loopback, "127.0.0.4", `/api/report?server_name=${encodeURIComponent("127.0.0.1:9")}`);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, "application/json");
    assert.equal(r.body, JSON.stringify(JSON.parse(r.body)));
    const bad = await call(loopback, "127.0.0.4", `/api/report?server_name=${encodeURIComponent("not a name")}`);
    assert.equal(bad.contentType, "application/json");
    assert.equal(bad.body, JSON.stringify(JSON.parse(bad.body)));
  });
});
