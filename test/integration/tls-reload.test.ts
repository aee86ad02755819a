/**
 * Live certificate reload on a real TLS listener with certificates from the test CA: the files behind
 * tls_certificate_path / tls_private_key_path replaced the way certbot does it (new files in archive/, symlinks
 * in live/ swapped), SIGHUP, and refusal of a pair that does not parse or does not match. Listener: 127.0.5.31.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { CertificateReloader } from "../../src/app/tls-reload.js";
import { collectingLog, eventually, swapLink, tlsPeer } from "../harness/pebble.js";
import { createTestCa, type IssuedCert, type TestCa } from "../harness/test-ca.js";

const HOST_IP = "127.0.5.31";
const NAME = "hs.reload.test";

interface Site {
  dir: string;
  live: string;
  archive: string;
  server: Server;
  port: number;
  reloader: CertificateReloader;
  log: ReturnType<typeof collectingLog>;
  version: number;
  /** Writes a new pair into archive/ and swaps the live/ symlinks, as `certbot renew` does. */
  deploy(certPem: string, keyPem: string): Promise<void>;
}

describe("live certificate reload", { timeout: 120_000 }, () => {
  let ca: TestCa;
  let root: string;
  const sites: Site[] = [];
  const open: TLSSocket[] = [];

  async function site(name: string, opts: { watch: boolean; sighup: boolean }, first: IssuedCert): Promise<Site> {
    const dir = join(root, name);
    const live = join(dir, "live");
    const archive = join(dir, "archive");
    await mkdir(live, { recursive: true });
    await mkdir(archive, { recursive: true });
    const s: Partial<Site> & { version: number } = { dir, live, archive, version: 0 };
    s.deploy = async (certPem, keyPem) => {
      const v = ++s.version;
      await writeFile(join(archive, `fullchain${v}.pem`), certPem);
      await writeFile(join(archive, `privkey${v}.pem`), keyPem, { mode: 0o600 });
      await swapLink(join(live, "privkey.pem"), `../archive/privkey${v}.pem`);
      await swapLink(join(live, "fullchain.pem"), `../archive/fullchain${v}.pem`);
    };
    await s.deploy(first.chainPem, first.keyPem);
    s.log = collectingLog();
    s.reloader = new CertificateReloader({
      certPath: join(live, "fullchain.pem"),
      keyPath: join(live, "privkey.pem"),
      log: s.log,
      debounceMs: 100,
    });
    const initial = await s.reloader.reloadFromFiles("startup");
    assert.ok(initial.ok, initial.ok ? "" : initial.reason);
    s.server = createServer(s.reloader.secureContextOptions(), (sock) => sock.pipe(sock));
    s.reloader.attach(s.server);
    await new Promise<void>((r) => s.server!.listen(0, HOST_IP, r));
    s.port = (s.server.address() as AddressInfo).port;
    if (opts.watch) s.reloader.watchFiles();
    if (opts.sighup) s.reloader.reloadOnSighup();
    sites.push(s as Site);
    return s as Site;
  }

  const servedSerial = async (s: Site) => (await tlsPeer(HOST_IP, s.port, NAME, ca.caCertPem)).serial;
  const serialOf = (c: IssuedCert) => new X509Certificate(c.certPem).serialNumber.toUpperCase();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "zion-tls-reload-"));
    ca = await createTestCa(join(root, "ca"));
  });

  after(async () => {
    for (const s of open) s.destroy();
    for (const s of sites) {
      s.reloader.close();
      await new Promise<void>((r) => s.server.close(() => r()));
    }
    await rm(root, { recursive: true, force: true });
  });

  it("swaps to a certificate replaced by symlink (as certbot renews) without closing an open connection", async () => {
    const a = await ca.issue({ dns: [NAME], viaIntermediate: true });
    const b = await ca.issue({ dns: [NAME], viaIntermediate: true });
    const s = await site("certbot", { watch: true, sighup: false }, a);
    assert.equal(await servedSerial(s), serialOf(a));

    // A connection opened before the swap keeps working after it.
    const before = connect({ host: HOST_IP, port: s.port, servername: NAME, ca: ca.caCertPem });
    open.push(before);
    await new Promise<void>((r, j) => { before.once("secureConnect", r); before.once("error", j); });
    const echo = (text: string) => new Promise<string>((r) => { before.once("data", (d: Buffer) => r(d.toString())); before.write(text); });
    assert.equal(await echo("ping-1"), "ping-1");

    await s.deploy(b.chainPem, b.keyPem);
    const seen = await eventually("the new serial", async () => {
      const serial = await servedSerial(s);
      return serial === serialOf(b) ? serial : undefined;
    });
    assert.equal(seen, serialOf(b));
    assert.equal(await echo("ping-2"), "ping-2");
    assert.equal(before.destroyed, false);
    assert.ok(s.log.lines.some((l) => l.msg === "tls: certificate swapped on every listener" && l.obj["source"] === "file change"));
  });

  it("refuses a key that does not match the certificate, logs why, and keeps serving the old pair", async () => {
    const a = await ca.issue({ dns: [NAME] });
    const b = await ca.issue({ dns: [NAME] });
    const c = await ca.issue({ dns: [NAME] });
    const s = await site("mismatch", { watch: true, sighup: false }, a);
    await s.deploy(b.certPem, c.keyPem); // b's certificate with c's key
    const line = await eventually("the refusal log line", () =>
      s.log.lines.find((l) => l.level === "error" && l.msg === "tls: new certificate refused; keeping the current one"));
    assert.match(String(line.obj["reason"]), /does not match the certificate/);
    assert.equal(line.obj["keptSerial"], serialOf(a));
    assert.equal(await servedSerial(s), serialOf(a));
    assert.equal(s.reloader.swaps, 0);
  });

  it("refuses a certificate file that does not parse and keeps serving the old pair", async () => {
    const a = await ca.issue({ dns: [NAME] });
    const s = await site("garbage", { watch: true, sighup: false }, a);
    const broken = a.certPem.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!!!!!!!!!!!!!!!!!");
    await s.deploy(broken, a.keyPem);
    const line = await eventually("the refusal log line", () => s.log.lines.find((l) => l.level === "error"));
    assert.match(String(line.obj["reason"]), /does not parse|no PEM certificate/);
    assert.equal(await servedSerial(s), serialOf(a));
  });

  it("re-reads the files on SIGHUP", async () => {
    const a = await ca.issue({ dns: [NAME] });
    const b = await ca.issue({ dns: [NAME] });
    const s = await site("sighup", { watch: false, sighup: true }, a);
    await s.deploy(b.chainPem, b.keyPem);
    // Not watched: nothing changes until the signal.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await servedSerial(s), serialOf(a));
    process.kill(process.pid, "SIGHUP");
    const seen = await eventually("the new serial after SIGHUP", async () => {
      const serial = await servedSerial(s);
      return serial === serialOf(b) ? serial : undefined;
    });
    assert.equal(seen, serialOf(b));
    assert.ok(s.log.lines.some((l) => l.obj["source"] === "SIGHUP" && l.msg === "tls: certificate swapped on every listener"));
  });

  it("swaps every attached listener, not only the first", async () => {
    const a = await ca.issue({ dns: [NAME] });
    const b = await ca.issue({ dns: [NAME] });
    const s = await site("two-listeners", { watch: false, sighup: false }, a);
    const second = createServer(s.reloader.secureContextOptions(), (sock) => sock.end());
    s.reloader.attach(second);
    await new Promise<void>((r) => second.listen(0, HOST_IP, r));
    const secondPort = (second.address() as AddressInfo).port;
    try {
      assert.equal((await tlsPeer(HOST_IP, secondPort, NAME, ca.caCertPem)).serial, serialOf(a));
      const verdict = s.reloader.install({ certPem: b.chainPem, keyPem: b.keyPem }, "acme");
      assert.ok(verdict.ok);
      assert.equal(await servedSerial(s), serialOf(b));
      assert.equal((await tlsPeer(HOST_IP, secondPort, NAME, ca.caCertPem)).serial, serialOf(b));
      assert.equal(s.log.lines.at(-1)?.obj["listeners"], 2);
    } finally {
      await new Promise<void>((r) => second.close(() => r()));
    }
  });
});
