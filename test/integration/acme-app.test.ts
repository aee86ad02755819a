/**
 * The whole server (the real CLI in a child process) with `acme:` in homeserver.yaml and no certificate files: it
 * starts with an empty TLS listener, obtains its certificate from Pebble by TLS-ALPN-01 on that same listener,
 * serves federation over it, and survives SIGHUP. Addresses: 127.0.5.50 (dnsmasq), 127.0.5.51 (Zion).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:https";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { eventually, startPebble, tlsPeer, type Pebble } from "../harness/pebble.js";
import { runZion, startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";
import { newSigningKey, writeSigningKeyFile } from "../../src/app/index.js";
import { stringify } from "yaml";

const HOST_IP = "127.0.5.51";
const NAME = "hs.acme-app.test";

/** A port free on HOST_IP right now (Pebble must know the listener's port before Zion binds it). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST_IP, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function getJson(port: number, path: string, ca: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST_IP, port, path, servername: NAME, ca, headers: { host: `${NAME}:${port}` }, timeout: 5000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("zion start with acme: enabled", { timeout: 180_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  let pebble: Pebble;
  let root: string;
  let zion: TestServer | undefined;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-acme-app-"));
    dns = await startDnsmasq({ a: { [NAME]: [HOST_IP] } }, { address: "127.0.5.50" });
    port = await freePort();
    pebble = await startPebble({ dnsServer: dns.server, httpPort: 9, tlsPort: port, validitySeconds: 3600 });
    root = await pebble.issuingRootPem();
  });

  after(async () => {
    await zion?.stop();
    await pebble?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("obtains its certificate by TLS-ALPN-01 on its federation listener, serves federation with it, and survives SIGHUP", async () => {
    zion = await startTestServer({
      serverName: NAME,
      mode: "child",
      config: {
        public_baseurl: `https://${NAME}:${port}/`,
        listeners: [{ port, bind_addresses: [HOST_IP], type: "http", tls: true, resources: [{ names: ["federation", "client"] }] }],
        acme: {
          enabled: true,
          directory_url: pebble.directoryUrl,
          contact_email: "admin@acme-app.test",
          challenge: "tls-alpn-01",
          ca_bundle: pebble.apiCaPath,
          storage_dir: join(dir, "acme"),
        },
      },
    });
    // Poll (bounded) until the listener presents a certificate that verifies against Pebble's root for the name.
    const z = zion;
    const peer = await eventually("a certificate Pebble issued", () => tlsPeer(HOST_IP, port, NAME, root).catch(() => undefined))
      .catch((err: Error) => assert.fail(`${err.message}; server output:\n${z.output.stdout.slice(-3000)}${z.output.stderr.slice(-2000)}`));
    assert.match(peer.subjectaltname, /DNS:hs\.acme-app\.test/);
    assert.equal(peer.chainCNs.length, 3);
    for (const f of ["account.key", "certificate.pem", "private-key.pem"]) {
      assert.equal((await stat(join(dir, "acme", f))).mode & 0o777, 0o600, f);
    }
    const version = await getJson(port, "/_matrix/federation/v1/version", root);
    assert.equal(version.status, 200);
    assert.equal((version.body as { server?: { name?: string } }).server?.name, "Zion");

    // SIGHUP re-reads the stored files (the same pair): the server keeps running and serving.
    zion.child!.kill("SIGHUP");
    // Wait (bounded, not timed) for the server to say it re-read the files, however slow the machine.
    await eventually("the SIGHUP log line", () => /SIGHUP received/.test(z.output.stdout) || z.child!.exitCode !== null || undefined);
    assert.match(zion.output.stdout, /SIGHUP received/);
    assert.equal(zion.child!.exitCode, null);
    assert.equal((await tlsPeer(HOST_IP, port, NAME, root)).serial, peer.serial);

    // `zion doctor` (another process) reads the renewal state the server wrote beside the certificate.
    const doctor = runZion(["doctor", "-c", zion.configPath, "--no-remote", "--json"], { cwd: zion.dir });
    const code = await doctor.exited();
    assert.ok(doctor.output.stdout.trim().startsWith("{"), `zion doctor exited ${code} without a JSON report:\n${doctor.output.stderr}`);
    const report = (JSON.parse(doctor.output.stdout) as { Zion: { Checks: Array<{ id: string; status: string; detail: string }> } }).Zion;
    const acmeCheck = report.Checks.find((c) => c.id === "local.acme");
    assert.equal(acmeCheck?.status, "ok", doctor.output.stdout);
    assert.match(acmeCheck.detail, new RegExp(`certificate ${peer.serial} for hs\\.acme-app\\.test`));
    assert.equal(report.Checks.find((c) => c.id === "local.tls-files")?.status, "ok");
  });
});

describe("zion doctor reads ACME's renewal state", { timeout: 120_000 }, () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-acme-doctor-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `zion doctor --no-remote --json` on a server whose ACME storage holds a certificate `daysLeft` from expiry. */
  async function doctorAcme(name: string, daysLeft: number, failures: number): Promise<{ status: string; detail: string }> {
    const base = join(dir, name);
    const storage = join(base, "acme");
    await mkdir(storage, { recursive: true });
    const ca = await createTestCa(join(base, "ca"));
    const leaf = await ca.issue({ dns: ["doctor.acme-app.test"], notAfterDays: daysLeft });
    await writeFile(join(storage, "certificate.pem"), leaf.chainPem, { mode: 0o600 });
    await writeFile(join(storage, "private-key.pem"), leaf.keyPem, { mode: 0o600 });
    // What a running server writes after its attempts (src/acme/manager.ts): failures and the CA's last words.
    await writeFile(join(storage, "status.json"), JSON.stringify({
      consecutiveFailures: failures, ...(failures > 0 ? { lastError: "the CA refused the order for doctor.acme-app.test: rateLimited" } : {}),
    }), { mode: 0o600 });
    writeSigningKeyFile(join(base, "signing.key"), [newSigningKey()]);
    const configPath = join(base, "homeserver.yaml");
    await writeFile(configPath, stringify({
      server_name: "doctor.acme-app.test",
      public_baseurl: "https://doctor.acme-app.test/",
      listeners: [{ port: 8448, bind_addresses: [HOST_IP], type: "http", tls: true, resources: [{ names: ["federation", "client"] }] }],
      signing_key_path: join(base, "signing.key"),
      database: { name: "sqlite3", args: { database: join(base, "homeserver.db") } },
      acme: { enabled: true, storage_dir: storage, domains: ["doctor.acme-app.test"] },
    }));
    const doctor = runZion(["doctor", "-c", configPath, "--no-remote", "--json"], { cwd: base });
    const code = await doctor.exited();
    assert.ok(doctor.output.stdout.trim().startsWith("{"), `zion doctor exited ${code} without a JSON report:\n${doctor.output.stderr}`);
    const report = (JSON.parse(doctor.output.stdout) as { Zion: { Checks: Array<{ id: string; status: string; detail: string }> } }).Zion;
    const check = report.Checks.find((c) => c.id === "local.acme");
    assert.ok(check, doctor.output.stdout);
    return check;
  }

  it("warns when renewal keeps failing with fewer than 14 days left, naming the days and the CA's reason", async () => {
    const c = await doctorAcme("failing-10-days", 10, 3);
    assert.equal(c.status, "warn", c.detail);
    assert.match(c.detail, /renewal has failed 3 time\(s\) and the certificate expires in (9\.9|10\.0) days: the CA refused the order/);
  });

  it("does not warn while renewal fails with more than 14 days left, nor with 10 days left when renewal is not failing", async () => {
    const far = await doctorAcme("failing-20-days", 20, 3);
    assert.equal(far.status, "ok", far.detail);
    // Not a warning yet, but the line must not claim renewal is fine.
    assert.match(far.detail, /the last 3 renewal attempts failed \(the CA refused the order.*\), with 19 days left/);
    const quiet = await doctorAcme("healthy-10-days", 10, 0);
    assert.equal(quiet.status, "ok", quiet.detail);
    assert.match(quiet.detail, /no renewal attempt has failed/);
  });
});
