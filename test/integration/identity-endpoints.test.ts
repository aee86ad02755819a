/**
 * The endpoints that say who a server is, over real sockets (plain and TLS),
 * against an in-process Zion started from a config object.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { verifyJsonSignature } from "../../src/core/crypto/index.js";
import { decodeBase64, encodeBase64 } from "../../src/core/json/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import type { ServerName } from "../../src/core/ids/index.js";
import type { Clock } from "../../src/core/clock.js";
import { newSigningKey } from "../../src/app/index.js";
import { parseLogLine, startTestServer, type TestServer } from "../harness/server.js";
import { httpCall, trustCert } from "../harness/http-get.js";
import { canConnect, freePort } from "../harness/ports.js";

const NOW = 1_764_000_000_000;
const fixedClock: Clock = { now: () => NOW, sleep: async () => {} };

describe("identity endpoints", () => {
  let zion: TestServer;
  const oldKey = newSigningKey();
  const oldPublic = encodeBase64(oldKey.publicKey);
  let tlsOpts: ReturnType<typeof trustCert>;

  before(async () => {
    zion = await startTestServer({
      serverName: "zion.test",
      config: {
        key_refresh_interval: "2h",
        old_signing_keys: { [oldKey.keyId]: { key: oldPublic, expired_ts: NOW - 1000 } },
        serve_server_wellknown: true,
        public_baseurl: "https://matrix.zion.test/",
      },
      startOptions: { clock: fixedClock },
    });
    tlsOpts = trustCert(zion.config.tls_certificate_path!, "zion.test");
  });
  after(() => zion?.stop());

  it("serves GET /_matrix/key/v2/server over TLS, signed by the server's key so the signature verifies", async () => {
    const r = await httpCall(`${zion.federationUrl}/_matrix/key/v2/server`, tlsOpts);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    const body = r.json() as JsonObject;
    assert.equal(body["server_name"], "zion.test");
    const keyId = zion.signingKey.keyId;
    const published = (body["verify_keys"] as Record<string, { key: string }>)[keyId]!.key;
    assert.equal(published, encodeBase64(zion.signingKey.publicKey));
    // Verify with the key the response publishes, as a remote server would.
    assert.deepEqual(verifyJsonSignature(body, "zion.test", keyId, decodeBase64(published)), { ok: true });
    // And the check can fail: a changed field breaks the signature.
    const tampered = { ...body, valid_until_ts: (body["valid_until_ts"] as number) + 1 };
    assert.equal(verifyJsonSignature(tampered, "zion.test", keyId, decodeBase64(published)).ok, false);
  });

  it("sets valid_until_ts to now + key_refresh_interval and lists old_signing_keys with expired_ts", async () => {
    const body = (await httpCall(`${zion.federationUrl}/_matrix/key/v2/server`, tlsOpts)).json();
    assert.equal(body["valid_until_ts"], NOW + 2 * 3_600_000);
    assert.deepEqual(body["old_verify_keys"], { [oldKey.keyId]: { key: oldPublic, expired_ts: NOW - 1000 } });
  });

  it("answers the deprecated key-id form of the key endpoint the same way", async () => {
    const r = await httpCall(`${zion.federationUrl}/_matrix/key/v2/server/${encodeURIComponent(zion.signingKey.keyId)}`, tlsOpts);
    assert.equal(r.status, 200);
    assert.equal(r.json()["server_name"], "zion.test");
  });

  it("serves /_matrix/federation/v1/version with the name Zion and its version", async () => {
    const r = await httpCall(`${zion.federationUrl}/_matrix/federation/v1/version`, tlsOpts);
    assert.equal(r.status, 200);
    const server = r.json()["server"] as Record<string, unknown>;
    assert.equal(server["name"], "Zion");
    assert.match(String(server["version"]), /^\d+\.\d+\.\d+/);
  });

  it("serves /.well-known/matrix/server from the TLS federation listener's port, with CORS and application/json", async () => {
    const r = await httpCall(`${zion.clientUrl}/.well-known/matrix/server`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["access-control-allow-origin"], "*");
    // The federation listener is on port 0 in the config, so the delegation falls back to public_baseurl's host on 443.
    assert.deepEqual(r.json(), { "m.server": "matrix.zion.test:443" });
  });

  it("serves /.well-known/matrix/client with public_baseurl, CORS and application/json", async () => {
    const r = await httpCall(`${zion.clientUrl}/.well-known/matrix/client`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.deepEqual(r.json(), { "m.homeserver": { base_url: "https://matrix.zion.test/" } });
  });

  it("serves /_matrix/client/versions on the client listener, with CORS, listing the versions whose endpoints work", async () => {
    const r = await httpCall(`${zion.clientUrl}/_matrix/client/versions`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.deepEqual(r.json(), { versions: ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12", "v1.13"], unstable_features: { "org.matrix.simplified_msc3575": true } });
  });

  it("answers GET /health with 200 OK on every listener", async () => {
    for (const [url, opts] of [[zion.clientUrl, {}], [zion.federationUrl, tlsOpts]] as const) {
      const r = await httpCall(`${url}/health`, opts);
      assert.equal(r.status, 200);
      assert.equal(r.body, "OK");
    }
  });

  it("keeps federation endpoints off the client-only listener and client endpoints off the federation-only one", async () => {
    assert.equal((await httpCall(`${zion.clientUrl}/_matrix/federation/v1/version`)).status, 404);
    assert.equal((await httpCall(`${zion.clientUrl}/_matrix/key/v2/server`)).status, 404);
    const r = await httpCall(`${zion.federationUrl}/_matrix/client/versions`, tlsOpts);
    assert.equal(r.status, 404);
    assert.equal(r.json()["errcode"], "M_UNRECOGNIZED");
  });

  it("gives every JSON response, success or Matrix error, exactly Content-Type application/json, and CORS on client and well-known paths only", async () => {
    const big = JSON.stringify({ server_keys: { "x.test": {} }, filler: "x".repeat(1024 * 1024) });
    const cases: { base: "client" | "federation"; method: string; path: string; body?: string; status: number; errcode?: string }[] = [
      { base: "client", method: "GET", path: "/_matrix/client/versions", status: 200 },
      { base: "client", method: "GET", path: "/.well-known/matrix/client", status: 200 },
      { base: "client", method: "GET", path: "/.well-known/matrix/server", status: 200 },
      { base: "client", method: "GET", path: "/_matrix/client/v3/nope", status: 404, errcode: "M_UNRECOGNIZED" },
      { base: "client", method: "GET", path: "/_matrix/client/v3/sync", status: 401, errcode: "M_MISSING_TOKEN" },
      { base: "client", method: "POST", path: "/_matrix/client/versions", status: 405, errcode: "M_UNRECOGNIZED" },
      { base: "client", method: "PUT", path: "/.well-known/matrix/client", status: 405, errcode: "M_UNRECOGNIZED" },
      { base: "federation", method: "GET", path: "/_matrix/key/v2/server", status: 200 },
      { base: "federation", method: "GET", path: "/_matrix/federation/v1/version", status: 200 },
      { base: "federation", method: "GET", path: "/_matrix/federation/v1/nope", status: 404, errcode: "M_UNRECOGNIZED" },
      { base: "federation", method: "DELETE", path: "/_matrix/federation/v1/version", status: 405, errcode: "M_UNRECOGNIZED" },
      { base: "federation", method: "POST", path: "/_matrix/key/v2/query", body: "{not json", status: 400, errcode: "M_NOT_JSON" },
      { base: "federation", method: "POST", path: "/_matrix/key/v2/query", body: '{"server_keys": 5}', status: 400, errcode: "M_BAD_JSON" },
      { base: "federation", method: "POST", path: "/_matrix/key/v2/query", body: big, status: 413, errcode: "M_TOO_LARGE" },
      { base: "federation", method: "GET", path: "/_matrix/federation/v1/query/profile?user_id=%40a%3Azion.test", status: 401, errcode: "M_UNAUTHORIZED" },
    ];
    for (const c of cases) {
      const url = `${c.base === "client" ? zion.clientUrl : zion.federationUrl}${c.path}`;
      const r = await httpCall(url, { ...(c.base === "federation" ? tlsOpts : {}), method: c.method, ...(c.body !== undefined ? { body: c.body } : {}) });
      const what = `${c.method} ${c.path} -> ${r.status} ${r.body.slice(0, 200)}`;
      assert.equal(r.status, c.status, what);
      assert.equal(r.headers["content-type"], "application/json", what);
      const body = r.json();
      if (c.errcode !== undefined) {
        assert.equal(body["errcode"], c.errcode, what);
        assert.equal(typeof body["error"], "string", what);
      }
      const cors = c.path.startsWith("/_matrix/client/") || c.path.startsWith("/.well-known/matrix/");
      assert.equal(r.headers["access-control-allow-origin"], cors ? "*" : undefined, what);
    }
  });

  it("refuses the signed profile query without an X-Matrix Authorization header (401 M_UNAUTHORIZED)", async () => {
    const r = await httpCall(`${zion.federationUrl}/_matrix/federation/v1/query/profile?user_id=%40a%3Azion.test`, tlsOpts);
    assert.equal(r.status, 401);
    assert.equal(r.json()["errcode"], "M_UNAUTHORIZED");
  });
});

describe("federation settings on the HTTP surface", () => {
  it("mounts no federation resource with federation_enabled: false, but serves keys under an explicit keys resource", async () => {
    const zion = await startTestServer({
      config: {
        federation_enabled: false,
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client", "federation"] }] },
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["keys"] }] },
        ],
      },
    });
    try {
      const both = zion.listeners[0]!;
      const keysOnly = zion.listeners[1]!;
      for (const path of ["/_matrix/federation/v1/version", "/_matrix/key/v2/server", "/_matrix/federation/v1/query/profile"]) {
        const r = await httpCall(`http://127.0.0.1:${both.port}${path}`);
        assert.equal(r.status, 404, path);
      }
      assert.equal((await httpCall(`http://127.0.0.1:${both.port}/_matrix/client/versions`)).status, 200);
      assert.equal((await httpCall(`http://127.0.0.1:${keysOnly.port}/_matrix/key/v2/server`)).status, 200);
      // serve_server_wellknown is off by default: 404 M_NOT_FOUND, still JSON with CORS.
      const wk = await httpCall(`http://127.0.0.1:${both.port}/.well-known/matrix/server`);
      assert.equal(wk.status, 404);
      assert.equal(wk.headers["content-type"], "application/json");
      assert.equal(wk.headers["access-control-allow-origin"], "*");
      assert.equal(wk.json()["errcode"], "M_NOT_FOUND");
    } finally {
      await zion.stop();
    }
  });

  it("answers the profile query for an unknown user with 404 M_NOT_FOUND once a request is authenticated, and applies the whitelist", async () => {
    const origins: string[] = [];
    const zion = await startTestServer({
      config: { federation_domain_whitelist: ["friend.test"] },
      startOptions: {
        federationAuth: {
          async authenticate(req) {
            const origin = /origin="?([^",]+)/.exec(req.authorization[0] ?? "")?.[1] ?? "";
            origins.push(origin);
            return { origin: origin as ServerName };
          },
        },
      },
    });
    try {
      const tls = trustCert(zion.config.tls_certificate_path!, "zion.test");
      const url = `${zion.federationUrl}/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent("@nobody:zion.test")}`;
      const ok = await httpCall(url, { ...tls, headers: { authorization: 'X-Matrix origin="friend.test",key="ed25519:x",sig="y"' } });
      assert.equal(ok.status, 404);
      assert.equal(ok.json()["errcode"], "M_NOT_FOUND");
      const denied = await httpCall(url, { ...tls, headers: { authorization: 'X-Matrix origin="stranger.test",key="ed25519:x",sig="y"' } });
      assert.equal(denied.status, 403);
      assert.equal(denied.json()["errcode"], "M_FORBIDDEN");
      assert.deepEqual(origins, ["friend.test", "stranger.test"]);
      const remoteUser = await httpCall(`${zion.federationUrl}/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent("@a:friend.test")}`, {
        ...tls,
        headers: { authorization: 'X-Matrix origin="friend.test",key="ed25519:x",sig="y"' },
      });
      assert.equal(remoteUser.status, 400);
    } finally {
      await zion.stop();
    }
  });
});

describe("listeners", () => {
  it("binds every address of a listener on the same port, and reports a taken port with the listener's index", { timeout: 20_000 }, async () => {
    const port = await freePort("127.0.1.5");
    const zion = await startTestServer({
      config: { listeners: [{ port, bind_addresses: ["127.0.1.5", "127.0.1.6"], type: "http", resources: [{ names: ["client"] }] }] },
    });
    try {
      for (const host of ["127.0.1.5", "127.0.1.6"]) assert.equal((await httpCall(`http://${host}:${port}/health`)).body, "OK", host);
      await assert.rejects(
        () => startTestServer({ config: { listeners: [{ port, bind_addresses: ["127.0.1.6"], type: "http", resources: [{ names: ["client"] }] }] } }),
        (e: Error) => e.message === `listeners[0]: cannot listen on 127.0.1.6:${port}: EADDRINUSE`,
      );
      // A later listener that cannot bind releases the ones bound before it: nothing stays half-started.
      const first = await freePort("127.0.1.6");
      await assert.rejects(
        () =>
          startTestServer({
            config: {
              listeners: [
                { port: first, bind_addresses: ["127.0.1.6"], type: "http", resources: [{ names: ["client"] }] },
                { port, bind_addresses: ["127.0.1.5"], type: "http", resources: [{ names: ["client"] }] },
              ],
            },
          }),
        (e: Error) => e.message === `listeners[1]: cannot listen on 127.0.1.5:${port}: EADDRINUSE`,
      );
      assert.equal(await canConnect("127.0.1.6", first), false, "the first listener was closed again");
    } finally {
      await zion.stop();
    }
  });

  it("takes the client address from X-Forwarded-For and the request id from request_id_header only on the listener configured for it (zion start -c)", { timeout: 30_000 }, async () => {
    const zion = await startTestServer({
      mode: "child",
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.1.7"], type: "http", x_forwarded: true, request_id_header: "X-Request-Id", resources: [{ names: ["client"] }] },
          { port: 0, bind_addresses: ["127.0.1.7"], type: "http", resources: [{ names: ["client"] }] },
        ],
      },
    });
    try {
      const headers = { "x-forwarded-for": "203.0.113.7", "x-request-id": "proxy-id-1" };
      const [proxied, direct] = [0, 1].map((i) => zion.listeners.find((l) => l.index === i)!);
      assert.equal((await httpCall(`http://127.0.1.7:${proxied!.port}/_matrix/client/versions`, { headers })).status, 200);
      assert.equal((await httpCall(`http://127.0.1.7:${direct!.port}/_matrix/client/versions`, { headers })).status, 200);
      const logged = async (n: number): Promise<Record<string, unknown>[]> => {
        for (let i = 0; i < 100; i++) {
          const lines = zion.output.stdout.split("\n").map(parseLogLine).filter((m) => m?.["msg"] === "request") as Record<string, unknown>[];
          if (lines.length >= n) return lines;
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.fail(`fewer than ${n} request lines: ${zion.output.stdout}`);
      };
      const [first, second] = await logged(2);
      assert.equal(first!["remote"], "203.0.113.7", JSON.stringify(first));
      assert.equal(first!["request_id"], "proxy-id-1", JSON.stringify(first));
      assert.equal(second!["remote"], "127.0.0.1", JSON.stringify(second));
      assert.notEqual(second!["request_id"], "proxy-id-1", JSON.stringify(second));
    } finally {
      await zion.stop();
    }
  });
});
