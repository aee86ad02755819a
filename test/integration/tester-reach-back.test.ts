/**
 * Federation in both directions, against a real Zion ("them.test") that verifies X-Matrix requests with its own
 * KeyRing over the real dnsmasq and test-CA TLS: the tester, configured as our server (-c), sends a signed
 * request. When our server cannot be discovered, the target cannot verify us and the reach-back check fails
 * with a fix; when our keys are served, it passes. Then `zion doctor -c` on the target's own configuration: local
 * checks and the federation test of its own name, exit 0.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/index.js";
import { formatSigningKeyFile, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import type { ServerName } from "../../src/core/ids/index.js";
import { IpRangePolicy, NodeDns, ServerResolver, WellKnownResolver, httpsGetVia } from "../../src/federation/discovery/index.js";
import { KeyRing } from "../../src/federation/keys/key-ring.js";
import { MemoryKeyStore } from "../../src/federation/keys/memory-key-store.js";
import { HttpsClient } from "../../src/federation/tls/https-client.js";
import { TlsPolicy } from "../../src/federation/tls/policy.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { FederationClient } from "../../src/federation/transport/client.js";
import { envFromConfig } from "../../src/tester/env.js";
import { runFederationTest } from "../../src/tester/federation-test.js";
import type { Report } from "../../src/tester/report.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { startTestServer, ZION_MAIN, type TestServer } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { serveFederation, type Running, lockAddresses } from "./tester-remotes.js";

const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

function summary(r: Report): string {
  return r.checks.map((c) => `${c.status} ${c.id}${c.address ? ` ${c.address}` : ""}: ${c.detail}`).join("\n");
}

describe("reach-back and doctor against a real Zion", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let them: TestServer;
  let themHttps: HttpsClient;
  const running: Running[] = [];
  let ourKey: SigningKey;

  /** Our server's homeserver.yaml (never started: the tester only borrows its identity and network settings). */
  async function ourConfig(name: string) {
    const keyPath = join(dir, `${name}.key`);
    await writeFile(keyPath, formatSigningKeyFile([ourKey]));
    return parseConfig(stringify({
      server_name: name,
      signing_key_path: keyPath,
      listeners: [{ port: 8448, type: "http", tls: false, x_forwarded: true, resources: [{ names: ["federation"] }] }],
      dns_servers: [dns.server],
      federation_custom_ca_list: [ca.caCertPath],
      ip_range_whitelist: ["127.0.6.0/24"],
      database: { name: "sqlite3", args: { database: join(dir, `${name}.db`) } },
    }), { baseDir: dir });
  }

  let unlock: (() => void) | undefined;
  before(async () => {
    unlock = await lockAddresses("reach-back");
    dir = await mkdtemp(join(tmpdir(), "zion-tester-reach-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({
      a: { "them.test": ["127.0.6.42"], "us.test": ["127.0.6.41"], "usok.test": ["127.0.6.43"] },
    }, { address: "127.0.6.247" });
    ourKey = signingKeyFromSeed("t1", randomBytes(32));
    // usok.test: our keys served where discovery leads (the good case). us.test: nothing there.
    running.push(await serveFederation("127.0.6.43", { tls: await ca.issue({ dns: ["usok.test"] }), keysServerName: "usok.test", seed: ourKey.seed }));

    // them.test: a real Zion whose X-Matrix check discovers origins through the same dnsmasq and CA.
    const themCert = await ca.issue({ dns: ["them.test"] });
    const themKey = signingKeyFromSeed("a1", randomBytes(32));
    const ipPolicy = new IpRangePolicy([], []);
    const dnsClient = new NodeDns({ servers: [dns.server] });
    themHttps = new HttpsClient(new TlsPolicy({ customCaPems: [ca.caCertPem] }), { connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
    const resolver = new ServerResolver({ dns: dnsClient, wellKnown: new WellKnownResolver(httpsGetVia(dnsClient, ipPolicy, themHttps), clock, { timeoutMs: 3000 }), clock, ipPolicy });
    const client = new FederationClient({ serverName: "them.test" as ServerName, signingKey: themKey, resolver, https: themHttps, timeoutMs: 5000 });
    const keyRing = new KeyRing({ store: new MemoryKeyStore(), client, clock, own: { serverName: "them.test" as ServerName, signingKeys: [themKey] } });
    const auth = createAuthenticator({ serverName: "them.test" as ServerName, keyRing });
    them = await startTestServer({
      serverName: "them.test",
      signingKey: themKey,
      tls: { certificatePath: themCert.certPath, privateKeyPath: themCert.keyPath },
      config: {
        public_baseurl: "https://them.test/",
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, x_forwarded: true, resources: [{ names: ["client"] }] },
          { port: 8448, bind_addresses: ["127.0.6.42"], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        ],
        dns_servers: [dns.server],
        federation_custom_ca_list: [ca.caCertPath],
        ip_range_whitelist: ["127.0.6.0/24"],
      },
      startOptions: { federationAuth: { authenticate: (r) => auth(r) } },
    });
  });

  after(async () => {
    await them?.stop();
    await themHttps?.close();
    await Promise.all(running.map((r) => r.stop()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    unlock?.();
  });

  it("fails when the remote cannot reach back to us, with everything else about it passing", async () => {
    const r = await runFederationTest("them.test", envFromConfig(await ourConfig("us.test"), clock, { timeoutMs: 5000 }));
    assert.equal(r.federationOK, false, summary(r));
    const c = r.checks.find((x) => x.id === "reach-back");
    assert.equal(c?.status, "fail", summary(r));
    assert.match(c!.detail, /401/);
    assert.ok(c!.fix && /zion federation-test us\.test/.test(c!.fix), c!.fix);
    assert.deepEqual(r.checks.filter((x) => x.status === "fail").map((x) => x.id), ["reach-back"], summary(r));
  });

  it("passes when the remote can discover us and verify our signature", async () => {
    const r = await runFederationTest("them.test", envFromConfig(await ourConfig("usok.test"), clock, { timeoutMs: 5000 }));
    const c = r.checks.find((x) => x.id === "reach-back");
    assert.equal(c?.status, "ok", summary(r));
    assert.match(c!.detail, /404/);
    assert.equal(r.federationOK, true, summary(r));
    assert.equal(r.mft.Version.name, "Zion");
  });

  it("refuses to test a target outside our federation_domain_whitelist", async () => {
    const cfg = await ourConfig("usok.test");
    const r = await runFederationTest("them.test", envFromConfig({ ...cfg, federation_domain_whitelist: ["elsewhere.test" as ServerName] }, clock, { timeoutMs: 5000 }));
    assert.equal(r.federationOK, false);
    assert.equal(r.checks.find((x) => x.id === "policy.whitelist")?.status, "fail");
    assert.ok(r.checks.find((x) => x.id === "policy.whitelist")?.fix);
  });

  it("reports target addresses our own ip_range_blacklist refuses", async () => {
    const cfg = await ourConfig("usok.test");
    const r = await runFederationTest("them.test", envFromConfig({ ...cfg, ip_range_whitelist: [] }, clock, { timeoutMs: 5000 }));
    assert.equal(r.federationOK, false);
    const c = r.checks.find((x) => x.id === "policy.ip-ranges" && x.status === "fail");
    assert.ok(c, summary(r));
    assert.match(c.detail, /127\.0\.6\.42/);
    assert.ok(c.fix);
  });

  it("zion doctor -c passes the target's own configuration, local and remote checks", async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const child = spawn(process.execPath, [ZION_MAIN, "doctor", "-c", them.configPath, "--json", "--timeout", "5000"], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
      const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", (code) => { clearTimeout(t); res({ code, stdout, stderr }); });
    });
    const report = JSON.parse(out.stdout) as { FederationOK: boolean; Zion: { Kind: string; Checks: { id: string; status: string; detail: string }[] } };
    const lines = report.Zion.Checks.map((c) => `${c.status} ${c.id}: ${c.detail}`).join("\n");
    assert.equal(report.Zion.Kind, "doctor");
    for (const id of ["local.tls-files", "local.tls-key-match", "local.tls-names", "local.signing-key", "local.database", "keys.signature", "reach-back"]) {
      assert.equal(report.Zion.Checks.find((c) => c.id === id)?.status, "ok", `${id}:\n${lines}`);
    }
    assert.equal(out.code, 0, `${out.stderr}\n${lines}`);
    assert.equal(report.FederationOK, true);
  });
});
