/**
 * Prometheus metrics against a real `zion start` (a child process): off unless enable_metrics (nothing bound, 404 on
 * the metrics resource), the metrics listener bound only where bind_addresses says, and after a scripted session of
 * client, federation and key requests (plus outbound key fetches, one answered and one refused) the scrape parses
 * with a strict Prometheus text parser (test/harness/prometheus.ts) and each counter moved by exactly what the session did.
 *
 * Addresses: 127.0.17.x (issue 17's range). The origin servers are named by IP literal and port, so Zion resolves
 * them without DNS; ip_range_whitelist lets it reach them on loopback.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { newSigningKey } from "../../src/app/index.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import type { SigningKey } from "../../src/core/crypto/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { httpCall, type Reply } from "../harness/http-get.js";
import { canConnect, freePort } from "../harness/ports.js";
import { parseScrape, type Scrape } from "../harness/prometheus.js";

const CLIENT_HOST = "127.0.17.2";
const METRICS_HOST = "127.0.17.3";
const REMOTE_HOST = "127.0.17.5";
const DEAD_HOST = "127.0.17.6";

function listenersWith(metricsPort: number, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    { port: 0, bind_addresses: [CLIENT_HOST], type: "http", tls: false, resources: [{ names: ["client", "metrics"] }] },
    { port: 0, bind_addresses: [CLIENT_HOST], type: "http", tls: true, resources: [{ names: ["federation"] }] },
    { port: metricsPort, bind_addresses: [METRICS_HOST], type: "metrics" },
    ...extra,
  ];
}

describe("metrics are off unless enable_metrics is true", () => {
  let zion: TestServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort(METRICS_HOST);
    zion = await startTestServer({ mode: "child", config: { listeners: listenersWith(metricsPort) } });
  });
  after(() => zion.stop());

  it("binds no metrics listener and answers 404 for the metrics resource without enable_metrics", async () => {
    assert.equal(await canConnect(METRICS_HOST, metricsPort), false);
    assert.ok(!zion.listeners.some((l) => l.resources.includes("metrics") && l.host === METRICS_HOST));
    for (const path of ["/_synapse/metrics", "/metrics"]) {
      const r = await httpCall(`${zion.clientUrl}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json()["errcode"], "M_UNRECOGNIZED");
    }
    assert.match(zion.output.stdout + zion.output.stderr, /enable_metrics/);
  });
});

describe("metrics after a scripted session against zion start", () => {
  let zion: TestServer;
  let remote: TestServer;
  let metricsPort: number;
  let remoteName: string;
  let deadName: string;
  let deadKey: SigningKey;
  let ca: string;

  before(async () => {
    metricsPort = await freePort(METRICS_HOST);
    const remotePort = await freePort(REMOTE_HOST);
    remoteName = `${REMOTE_HOST}:${remotePort}`;
    deadName = `${DEAD_HOST}:${await freePort(DEAD_HOST)}`; // nothing listens there
    deadKey = newSigningKey();
    remote = await startTestServer({
      serverName: remoteName,
      config: { listeners: [{ port: remotePort, bind_addresses: [REMOTE_HOST], type: "http", tls: true, resources: [{ names: ["federation"] }] }] },
    });
    zion = await startTestServer({
      mode: "child",
      config: {
        enable_metrics: true,
        enable_registration: true,
        enable_registration_without_verification: true,
        listeners: listenersWith(metricsPort),
        ip_range_whitelist: ["127.0.17.0/24"],
        federation_verify_certificates: false, // the origins' certificates are self-signed
      },
    });
    ca = readFileSync(join(zion.dir, "tls.crt"), "utf8");
  });
  after(async () => {
    await zion?.stop();
    await remote?.stop();
  });

  const metricsUrl = (path = "/_synapse/metrics"): string => `http://${METRICS_HOST}:${metricsPort}${path}`;
  async function scrape(): Promise<Scrape> {
    const r = await httpCall(metricsUrl());
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    return parseScrape(r.body);
  }
  const fed = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    httpCall(`${zion.federationUrl}${path}`, { ca, servername: "zion.test", headers });
  const signedProfileQuery = (origin: string, key: SigningKey): Promise<Reply> => {
    const uri = "/_matrix/federation/v1/query/profile?user_id=%40nobody%3Azion.test";
    return fed(uri, { authorization: signRequest({ method: "GET", uri, origin, destination: "zion.test" }, key) });
  };

  it("binds the metrics listener on its bind address only", async () => {
    const l = zion.listeners.find((x) => x.resources.includes("metrics") && x.host === METRICS_HOST);
    assert.ok(l, JSON.stringify(zion.listeners));
    assert.equal(l.port, metricsPort);
    assert.equal(await canConnect(METRICS_HOST, metricsPort), true);
    assert.equal(await canConnect(CLIENT_HOST, metricsPort), false);
    assert.equal((await httpCall(metricsUrl("/metrics"))).status, 200);
    assert.equal((await httpCall(metricsUrl("/_matrix/client/versions"))).status, 404); // only metrics there
  });

  it("counts requests, responses, latency, outbound federation, key fetches and storage work by the session's amounts", async () => {
    const before = await scrape();
    // The client session: 3 version lookups, 2 failed logins, 1 whoami without a token, 1 unknown path.
    for (let i = 0; i < 3; i++) assert.equal((await httpCall(`${zion.clientUrl}/_matrix/client/versions`)).status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await httpCall(`${zion.clientUrl}/_matrix/client/v3/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: "nobody" }, password: "wrong" }),
      });
      assert.equal(r.status, 403);
    }
    assert.equal((await httpCall(`${zion.clientUrl}/_matrix/client/v3/account/whoami`)).status, 401);
    assert.equal((await httpCall(`${zion.clientUrl}/_matrix/client/v3/no/such/thing`)).status, 404);
    // Federation: 2 version requests, 1 key request, then signed requests from two origins whose keys Zion must fetch.
    for (let i = 0; i < 2; i++) assert.equal((await fed("/_matrix/federation/v1/version")).status, 200);
    assert.equal((await fed("/_matrix/key/v2/server")).status, 200);
    assert.equal((await signedProfileQuery(remoteName, remote.signingKey)).status, 404); // key fetched, request verified
    assert.equal((await signedProfileQuery(deadName, deadKey)).status, 401); // key fetch fails: nothing listens
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}): number => after.value(name, labels) - before.value(name, labels);

    assert.equal(delta("synapse_http_server_requests_received_total", { method: "GET", servlet: "/_matrix/client/versions" }), 3);
    assert.equal(delta("synapse_http_server_requests_received_total", { method: "POST", servlet: "/_matrix/client/v3/login" }), 2);
    assert.equal(delta("synapse_http_server_requests_received_total", { method: "GET", servlet: "unmatched" }), 1);
    assert.equal(delta("synapse_http_server_requests_received_total", { method: "GET", servlet: "/_matrix/federation/v1/query/profile" }), 2);
    assert.equal(delta("synapse_http_server_responses_total", { method: "POST", code: "403" }), 2);
    assert.equal(delta("synapse_http_server_responses_total", { method: "GET", code: "401" }), 2); // whoami, dead origin
    assert.equal(delta("synapse_http_server_responses_total", { method: "GET", code: "404" }), 2); // unknown path, profile
    assert.equal(delta("synapse_http_server_response_time_seconds", { method: "GET", servlet: "/_matrix/federation/v1/version", code: "200" }), 2);
    assert.equal(delta("synapse_http_server_response_time_seconds", { method: "GET", servlet: "/_matrix/key/v2/server", code: "200" }), 1);
    assert.equal(delta("synapse_http_server_response_count_total", { method: "GET", servlet: "/_matrix/client/versions", tag: "" }), 3);
    // Never the raw path: a servlet label is a route template or "unmatched".
    const servlets = after.families.find((f) => f.name === "synapse_http_server_requests_received_total")!.samples.map((m) => m.labels["servlet"]);
    assert.ok(!servlets.includes("/_matrix/client/v3/no/such/thing"));
    assert.ok(!servlets.some((s) => s?.includes("?")));

    // Outbound: one key request answered 200, one that never connected.
    assert.equal(delta("synapse_http_matrixfederationclient_requests_total", { method: "GET" }), 2);
    assert.equal(delta("synapse_http_matrixfederationclient_responses_total", { method: "GET", code: "200" }), 1);
    assert.equal(delta("zion_federation_client_failures_total", { method: "GET", kind: "connect" }), 1);
    assert.equal(delta("zion_federation_key_fetches_total", { source: "direct", result: "ok" }), 1);
    assert.equal(delta("zion_federation_key_fetches_total", { source: "direct", result: "failed" }), 1);

    // Storage: the fetched keys stored once, in one unit of work; each failed login looked its user up.
    assert.equal(delta("synapse_storage_transaction_time_count_total", { desc: "keys.upsertServerKeys" }), 1);
    assert.equal(delta("zion_storage_transaction_time_seconds", { desc: "keys.upsertServerKeys" }), 1);
    assert.ok(delta("synapse_storage_transaction_time_sum_total", { desc: "keys.upsertServerKeys" }) > 0);
    assert.ok(delta("synapse_storage_transaction_time_count_total") >= 3);

    // Process metrics (prom-client's defaults) and Synapse's server_name label on every series.
    assert.ok(after.value("process_resident_memory_bytes") > 0);
    assert.ok(after.value("process_cpu_seconds_total") > 0);
    assert.ok(after.has("nodejs_eventloop_lag_seconds"));
    assert.ok(after.has("nodejs_gc_duration_seconds"));
    for (const f of after.families) for (const m of f.samples) assert.equal(m.labels["server_name"], "zion.test", f.name);
  });

  it("counts the events the room pipeline persists, by type and origin, and each PDU of an inbound /send by verdict", async () => {
    const before = await scrape();
    const json = (method: string, path: string, body: unknown, token?: string) => httpCall(`${zion.clientUrl}${path}`, {
      method, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body),
    });
    const reg = await json("POST", "/_matrix/client/v3/register", { username: "counted", password: "a password 1", auth: { type: "m.login.dummy" } });
    assert.equal(reg.status, 200, reg.body);
    const token = String(reg.json()["access_token"]);
    const room = await json("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", name: "Counted" }, token);
    assert.equal(room.status, 200, room.body);
    const roomId = encodeURIComponent(String(room.json()["room_id"]));
    for (let i = 0; i < 3; i++) assert.equal((await json("PUT", `/_matrix/client/v3/rooms/${roomId}/send/m.room.message/t${i}`, { msgtype: "m.text", body: `m${i}` }, token)).status, 200);
    assert.equal((await json("PUT", `/_matrix/client/v3/rooms/${roomId}/send/m.room.message/t0`, { msgtype: "m.text", body: "m0" }, token)).status, 200, "a repeated txn id writes nothing");
    const messages = await httpCall(`${zion.clientUrl}/_matrix/client/v3/rooms/${roomId}/messages?dir=b&limit=100`, { headers: { authorization: `Bearer ${token}` } });
    const chunk = messages.json()["chunk"] as { type: string }[];

    // An inbound transaction from the remote origin: one PDU that is no event at all (dropped), signed correctly.
    const uri = "/_matrix/federation/v1/send/metrics-txn-1";
    const content = { origin: remoteName, origin_server_ts: Date.now(), pdus: [{ type: "m.room.message" }] };
    const sent = await httpCall(`${zion.federationUrl}${uri}`, {
      method: "PUT", ca, servername: "zion.test",
      headers: { "content-type": "application/json", authorization: signRequest({ method: "PUT", uri, origin: remoteName, destination: "zion.test", content }, remote.signingKey) },
      body: JSON.stringify(content),
    });
    assert.equal(sent.status, 200, sent.body);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}): number => after.value(name, labels) - before.value(name, labels);
    assert.equal(delta("synapse_storage_events_persisted_events_total"), chunk.length, "every event of the room once, the repeated send not");
    assert.equal(delta("synapse_storage_events_persisted_events_sep_total", { type: "m.room.message", origin_type: "local" }), 3);
    assert.equal(delta("synapse_storage_events_persisted_events_sep_total", { type: "m.room.create", origin_type: "local" }), 1);
    assert.equal(delta("synapse_storage_events_persisted_events_sep_total", { origin_type: "remote" }), 0);
    assert.equal(delta("synapse_federation_server_received_pdus_total"), 1);
    assert.equal(delta("zion_federation_server_pdu_verdicts_total", { verdict: "dropped" }), 1);
    assert.equal(delta("zion_federation_server_pdu_verdicts_total", { verdict: "accepted" }), 0);
  });

  it("shows the long-polling /sync requests waiting, sampled every 5 s", async () => {
    const reg = await httpCall(`${zion.clientUrl}/_matrix/client/v3/register`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "waiter", password: "a password 1", auth: { type: "m.login.dummy" } }),
    });
    assert.equal(reg.status, 200, reg.body);
    const auth = { authorization: `Bearer ${String(reg.json()["access_token"])}` };
    const first = await httpCall(`${zion.clientUrl}/_matrix/client/v3/sync`, { headers: auth });
    const since = encodeURIComponent(String(first.json()["next_batch"]));
    const waits = [0, 1].map(() => httpCall(`${zion.clientUrl}/_matrix/client/v3/sync?since=${since}&timeout=9000`, { headers: auth }));
    await new Promise((r) => setTimeout(r, 6_000));
    assert.ok((await scrape()).value("zion_sync_waiting_requests") >= 2, "both waiting requests counted");
    await Promise.all(waits);
  });

  it("serves the same text at /_synapse/metrics and /metrics on an http listener with the metrics resource", async () => {
    const a = await httpCall(`${zion.clientUrl}/_synapse/metrics`);
    const b = await httpCall(`${zion.clientUrl}/metrics`);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const names = (t: string): string[] => parseScrape(t).families.map((f) => f.name).sort();
    assert.deepEqual(names(a.body), names(b.body));
    assert.ok(names(a.body).includes("synapse_http_server_requests_received_total"));
  });
});
