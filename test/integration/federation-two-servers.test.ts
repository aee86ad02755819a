/**
 * Zion processes federating over loopback (three addresses in 127.0.3.110-244, port 8448), each found by name through a
 * real dnsmasq (their dns_servers), with certificates from the test CA (their federation_custom_ca_list).
 *
 * Each direction: `zion debug federation-request` acting as one server (its config and signing key) sends an
 * X-Matrix-signed GET /_matrix/federation/v1/query/profile to the other; the receiving Zion process resolves the
 * sender's name through DNS, fetches its keys from the sender's own process, verifies the request and answers.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publicKeyBase64, signJson, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { UserId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { runZion, startTestServer, type TestServer } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";
import { createTestCa, serveHttps, type TestCa } from "../harness/test-ca.js";

// Three addresses from one of 45 blocks in 127.0.3.110-244 (port 8448 is fixed), so concurrent runs rarely collide.
const BASE = 110 + 3 * Math.floor(Math.random() * 45);
const [IP_A, IP_B, IP_C] = [`127.0.3.${BASE}`, `127.0.3.${BASE + 1}`, `127.0.3.${BASE + 2}`];

interface Answer { status: number | null; body?: Record<string, unknown>; errcode?: string | null; error?: string }

describe("Zion processes authenticate each other's requests", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  let c: TestServer | undefined;

  async function zion(name: string, ip: string, extra: Record<string, unknown> = {}): Promise<TestServer> {
    const leaf = await ca.issue({ dns: [name], name });
    return startTestServer({
      serverName: name,
      mode: "child",
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      config: {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
          { port: 8448, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        ],
        dns_servers: [dns.server],
        ip_range_whitelist: ["127.0.3.0/24"],
        federation_custom_ca_list: [ca.caCertPath],
        trusted_key_servers: [],
        ...extra,
      },
    });
  }

  async function addUser(server: TestServer, userId: string, displayname: string): Promise<void> {
    const db = server.config.database;
    assert.equal(db.name, "sqlite3");
    const storage = await openSqliteStorage({ path: (db.args as { database: string }).database });
    try {
      await storage.users.createUser({ userId: userId as UserId, passwordHash: null, createdTs: Date.now(), displayname });
    } finally {
      await storage.close();
    }
  }

  async function request(as: TestServer, destination: string, path: string): Promise<{ code: number | null; answer: Answer }> {
    const proc = runZion(["debug", "federation-request", destination, path, "-c", as.configPath], { cwd: as.dir });
    const code = await proc.exited();
    return { code, answer: JSON.parse(proc.output.stdout) as Answer };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-two-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { "a.zion.test": [IP_A], "b.zion.test": [IP_B], "c.zion.test": [IP_C], "notary.zion.test": [IP_A] } });
    [a, b, c] = await Promise.all([
      zion("a.zion.test", IP_A),
      zion("b.zion.test", IP_B),
      // c federates only with b.
      zion("c.zion.test", IP_C, { federation_domain_whitelist: ["b.zion.test"] }),
    ]);
    await addUser(a, "@alice:a.zion.test", "Alice");
    await addUser(b, "@bob:b.zion.test", "Bob");
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a.zion.test asks b.zion.test for a profile and b verifies a's signature with keys fetched from a", async () => {
    const r = await request(a!, "b.zion.test", "/_matrix/federation/v1/query/profile?user_id=%40bob%3Ab.zion.test");
    assert.deepEqual(r.answer, { status: 200, body: { displayname: "Bob" } }, JSON.stringify(r.answer));
    assert.equal(r.code, 0);
  });

  it("b.zion.test asks a.zion.test, and a verifies b's signature with keys fetched from b", async () => {
    const r = await request(b!, "a.zion.test", "/_matrix/federation/v1/query/profile?user_id=%40alice%3Aa.zion.test&field=displayname");
    assert.deepEqual(r.answer, { status: 200, body: { displayname: "Alice" } }, JSON.stringify(r.answer));
  });

  it("refuses an unsigned request with 401 M_UNAUTHORIZED", async () => {
    const proc = runZion(["debug", "federation-request", "b.zion.test", "/_matrix/federation/v1/query/profile?user_id=%40bob%3Ab.zion.test", "-c", a!.configPath, "--unsigned"], { cwd: a!.dir });
    assert.equal(await proc.exited(), 1);
    const answer = JSON.parse(proc.output.stdout) as Answer;
    assert.equal(answer.status, 401);
    assert.equal(answer.errcode, "M_UNAUTHORIZED");
  });

  it("each server serves its signed keys, and acts as a notary for the other's", async () => {
    const direct = runZion(["debug", "keys", "a.zion.test", "-c", b!.configPath, "--json"], { cwd: b!.dir });
    assert.equal(await direct.exited(), 0, direct.output.stdout + direct.output.stderr);
    const d = JSON.parse(direct.output.stdout) as { verified: boolean; verify_keys: Record<string, string> };
    assert.equal(d.verified, true);
    assert.ok(d.verify_keys[a!.signingKey.keyId]);
    const viaNotary = runZion(["debug", "keys", "a.zion.test", "-c", b!.configPath, "--via", "b.zion.test", "--json"], { cwd: b!.dir });
    assert.equal(await viaNotary.exited(), 0, viaNotary.output.stdout + viaNotary.output.stderr);
    assert.equal((JSON.parse(viaNotary.output.stdout) as { from: string }).from, "b.zion.test");
  });

  it("zion debug keys --via names the key IDs, so a notary answering an empty key map from its cache alone still finds them", async () => {
    // A notary that behaves as Synapse 1.163 does (docs/interop.md): for a server asked about with an empty key map it
    // answers only from its cache (empty here); for named key ids it fetches them from the server and signs them.
    const notaryName = "notary.zion.test:8449";
    const notaryKey = signingKeyFromSeed("n1", randomBytes(32));
    const queries: Record<string, Record<string, { minimum_valid_until_ts?: number }>>[] = [];
    const sign = (o: JsonObject) => signJson(o, notaryName, notaryKey);
    const notary = await serveHttps(IP_A, 8449, await ca.issue({ dns: ["notary.zion.test"] }), (req, res) => {
      void (async () => {
        let body: unknown = { errcode: "M_UNRECOGNIZED" };
        if (req.method === "GET" && req.url === "/_matrix/key/v2/server") {
          body = sign({ server_name: notaryName, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [notaryKey.keyId]: { key: publicKeyBase64(notaryKey) } }, old_verify_keys: {} });
        } else if (req.method === "POST" && req.url === "/_matrix/key/v2/query") {
          const q = (JSON.parse(req.body) as { server_keys: (typeof queries)[number] }).server_keys;
          queries.push(q);
          const named = Object.keys(q["a.zion.test"] ?? {});
          const fetched = named.length > 0 ? (await httpCall(`https://${IP_A}:8448/_matrix/key/v2/server`, { ca: ca.caCertPem, servername: "a.zion.test" })).json() : undefined;
          const has = (id: string) => Object.hasOwn((fetched?.["verify_keys"] ?? {}) as object, id);
          body = { server_keys: fetched && named.every(has) ? [sign(fetched as JsonObject)] : [] };
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      })();
    });
    try {
      const run = async (...extra: string[]) => {
        const proc = runZion(["debug", "keys", "a.zion.test", "-c", b!.configPath, "--via", notaryName, "--json", ...extra], { cwd: b!.dir });
        const code = await proc.exited();
        return { code, out: JSON.parse(proc.output.stdout) as { verified: boolean; from?: string; verify_keys?: Record<string, string>; reason?: string } };
      };
      const learned = await run();
      assert.equal(learned.code, 0, JSON.stringify(learned.out));
      assert.equal(learned.out.from, notaryName);
      assert.ok(learned.out.verify_keys?.[a!.signingKey.keyId]);
      const asked = queries.at(-1)?.["a.zion.test"]?.[a!.signingKey.keyId];
      assert.ok(asked && typeof asked.minimum_valid_until_ts === "number", `the key id was named with minimum_valid_until_ts: ${JSON.stringify(queries)}`);
      const named = await run("--key-id", a!.signingKey.keyId);
      assert.equal(named.code, 0, JSON.stringify(named.out));
      assert.deepEqual(Object.keys(queries.at(-1)?.["a.zion.test"] ?? {}), [a!.signingKey.keyId]);
      const unknown = await run("--key-id", "ed25519:nope");
      assert.equal(unknown.code, 1, "a key the notary does not vouch for is refused");
      assert.deepEqual(Object.keys(queries.at(-1)?.["a.zion.test"] ?? {}), ["ed25519:nope"]);
      // A server that cannot be asked for its key IDs: the notary gets the empty key map, and the output says why.
      const proc = runZion(["debug", "keys", "nowhere.zion.test", "-c", b!.configPath, "--via", notaryName, "--json"], { cwd: b!.dir });
      assert.equal(await proc.exited(), 1);
      assert.deepEqual(queries.at(-1), { "nowhere.zion.test": {} });
      const steps = (JSON.parse(proc.output.stdout) as { steps: { warn?: boolean; fix?: string }[] }).steps;
      assert.ok(steps.some((x) => x.warn === true && /--key-id/.test(x.fix ?? "")), "the trace suggests --key-id");
    } finally {
      await notary.close();
    }
  });

  it("answers GET /_matrix/key/v2/query/{serverName} as a notary, signing the other server's keys", async () => {
    const proc = runZion(["debug", "federation-request", "a.zion.test", "/_matrix/key/v2/query/b.zion.test", "-c", b!.configPath, "--unsigned"], { cwd: b!.dir });
    assert.equal(await proc.exited(), 0, proc.output.stdout + proc.output.stderr);
    const answer = JSON.parse(proc.output.stdout) as { status: number; body: { server_keys: { server_name: string; signatures: Record<string, Record<string, string>> }[] } };
    assert.equal(answer.status, 200);
    const keys = answer.body.server_keys;
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.server_name, "b.zion.test");
    assert.ok(keys[0]!.signatures["b.zion.test"]?.[b!.signingKey.keyId], "b's own signature is kept");
    assert.ok(keys[0]!.signatures["a.zion.test"]?.[a!.signingKey.keyId], "the notary a adds its signature");
  });

  it("zion debug resolve finds each server through DNS with the Host and certificate name", async () => {
    const proc = runZion(["debug", "resolve", "b.zion.test", "-c", a!.configPath, "--json", "--timeout", "2000"], { cwd: a!.dir });
    assert.equal(await proc.exited(), 0, proc.output.stdout);
    const out = JSON.parse(proc.output.stdout) as { step: string; host_header: string; certificate_name: string; targets: { ip: string; port: number }[] };
    assert.equal(out.step, "6");
    assert.equal(out.host_header, "b.zion.test");
    assert.equal(out.certificate_name, "b.zion.test");
    assert.deepEqual(out.targets.map((t) => `${t.ip}:${t.port}`), [`${IP_B}:8448`]);
  });

  it("zion debug resolve and keys print the outcome as text, and keys exits 2 on bad arguments", async () => {
    const resolve = runZion(["debug", "resolve", "b.zion.test", "-c", a!.configPath, "--timeout", "2000"], { cwd: a!.dir });
    assert.equal(await resolve.exited(), 0, resolve.output.stdout);
    assert.match(resolve.output.stdout, /resolved by step 6 of /);
    assert.match(resolve.output.stdout, new RegExp(`candidates, in order:\\n  ${IP_B.replaceAll(".", "\\.")}:8448  \\(b\\.zion\\.test\\)`));
    assert.match(resolve.output.stdout, /Host header: b\.zion\.test\ncertificate name expected: b\.zion\.test \(sent as SNI\)/);
    const keys = runZion(["debug", "keys", "a.zion.test", "-c", b!.configPath], { cwd: b!.dir });
    assert.equal(await keys.exited(), 0, keys.output.stdout);
    assert.match(keys.output.stdout, new RegExp(`keys of a\\.zion\\.test \\(from a\\.zion\\.test\\), valid until .*:\\n  ${a!.signingKey.keyId} `));
    for (const args of [["bad name!"], ["a.zion.test", "--key-id", "ed25519:x"], ["a.zion.test", "--via", "b.zion.test", "--key-id", "nokey"]]) {
      const bad = runZion(["debug", "keys", ...args, "-c", b!.configPath], { cwd: b!.dir });
      assert.equal(await bad.exited(), 2, `${args.join(" ")}: ${bad.output.stderr}`);
    }
  });

  it("zion debug resolve and keys take --dns-server and --ca-file instead of -c, as federation-test does", async () => {
    const resolve = runZion(["debug", "resolve", "b.zion.test", "--dns-server", dns.server, "--ca-file", ca.caCertPath, "--timeout", "2000"], { cwd: dir });
    assert.equal(await resolve.exited(), 0, resolve.output.stdout + resolve.output.stderr);
    assert.match(resolve.output.stdout, new RegExp(`^✓ dns\\.host: b\\.zion\\.test has ${IP_B.replaceAll(".", "\\.")}$`, "m"));
    const keys = runZion(["debug", "keys", "b.zion.test", "--dns-server", dns.server, "--ca-file", ca.caCertPath, "--json"], { cwd: dir });
    assert.equal(await keys.exited(), 0, keys.output.stdout + keys.output.stderr);
    const out = JSON.parse(keys.output.stdout) as { verified: boolean; verify_keys: Record<string, string> };
    assert.equal(out.verified, true);
    assert.deepEqual(Object.keys(out.verify_keys), [b!.signingKey.keyId]);
    // Without the CA the same fetch is refused: --ca-file is what made the certificate trusted.
    const noCa = runZion(["debug", "keys", "b.zion.test", "--dns-server", dns.server], { cwd: dir });
    assert.equal(await noCa.exited(), 1);
    assert.match(noCa.output.stdout, /^✗ /m);
    const both = runZion(["debug", "resolve", "b.zion.test", "-c", a!.configPath, "--dns-server", dns.server], { cwd: dir });
    assert.equal(await both.exited(), 2);
    assert.match(both.output.stderr, /--dns-server and --ca-file come from the configuration when -c is given/);
  });

  it("zion debug resolve marks a missing .well-known as not applying when resolution succeeds, prints no cache lifetime, and uses ✓ ⚠ ✗ only", async () => {
    // b serves no /.well-known/matrix/server (nothing listens on its port 443), so the fetch fails and SRV/8448 follow.
    const resolve = runZion(["debug", "resolve", "b.zion.test", "-c", a!.configPath, "--timeout", "2000"], { cwd: a!.dir });
    assert.equal(await resolve.exited(), 0, resolve.output.stdout);
    const lines = resolve.output.stdout.split("\n\n")[0]!.split("\n").filter((l) => !l.startsWith("    "));
    assert.match(lines.find((l) => l.includes("well-known.fetch")) ?? "", /^– well-known\.fetch: .*\(optional; did not apply\)$/);
    assert.deepEqual(lines.filter((l) => l.startsWith("✗")), [], "no failure mark on a successful resolution");
    for (const l of lines) assert.match(l, /^[✓⚠✗–] /, l);
    assert.doesNotMatch(resolve.output.stdout, /cached|cache/i);
    const json = runZion(["debug", "resolve", "b.zion.test", "-c", a!.configPath, "--json", "--timeout", "2000"], { cwd: a!.dir });
    assert.equal(await json.exited(), 0);
    const steps = (JSON.parse(json.output.stdout) as { steps: { check: string }[] }).steps;
    assert.equal(steps.some((s) => s.check.endsWith(".cache")), false);
  });

  it("zion debug resolve and keys explain a failure and exit 1", async () => {
    const resolve = runZion(["debug", "resolve", "nowhere.zion.test", "-c", a!.configPath, "--timeout", "2000"], { cwd: a!.dir });
    assert.equal(await resolve.exited(), 1);
    assert.match(resolve.output.stdout, /^✗ dns\.host: nowhere\.zion\.test has no AAAA or A record/m);
    assert.match(resolve.output.stdout, /not resolved: /);
    const keys = runZion(["debug", "keys", "nowhere.zion.test", "-c", a!.configPath], { cwd: a!.dir });
    assert.equal(await keys.exited(), 1);
    assert.match(keys.output.stdout, /refused: GET \/_matrix\/key\/v2\/server from nowhere\.zion\.test failed/);
  });

  it("refuses a verified origin outside federation_domain_whitelist with 403 M_FORBIDDEN, and sends nothing to one", async () => {
    const refused = await request(a!, "c.zion.test", "/_matrix/federation/v1/query/profile?user_id=%40x%3Ac.zion.test");
    assert.equal(refused.answer.status, 403, JSON.stringify(refused.answer));
    assert.equal(refused.answer.errcode, "M_FORBIDDEN");
    const allowed = await request(b!, "c.zion.test", "/_matrix/federation/v1/query/profile?user_id=%40x%3Ac.zion.test");
    assert.equal(allowed.answer.status, 404, JSON.stringify(allowed.answer));
    assert.equal(allowed.answer.errcode, "M_NOT_FOUND", "b is authenticated and allowed; the user just does not exist");
    const outbound = await request(c!, "a.zion.test", "/_matrix/federation/v1/version");
    assert.equal(outbound.answer.status, null);
    assert.match(outbound.answer.error ?? "", /a\.zion\.test is not in federation_domain_whitelist/);
  });
});
