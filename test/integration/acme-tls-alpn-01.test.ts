/**
 * ACME against Pebble with TLS-ALPN-01 answered on the HTTPS listener itself (RFC 8737): first issuance, then the
 * served chain and names checked by a TLS client; and the router in front of the handshake sends only
 * `acme-tls/1` validations to the challenge certificate while ordinary clients keep the real one.
 * Addresses: 127.0.5.20 (dnsmasq), 127.0.5.21 (our listener), Pebble 127.0.5.2xx.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import acme from "acme-client";
import {
  ACME_TLS_ALPN, AcmeManager, ChallengeResponder, attachTlsAlpnChallenges, type RenewOutcome, type TlsAlpnRouter,
} from "../../src/acme/index.js";
import { CertificateReloader } from "../../src/app/tls-reload.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { collectingLog, startPebble, tlsPeer, unrefClock, type Pebble } from "../harness/pebble.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";

const HOST_IP = "127.0.5.21";
const NAME = "hs.acme-alpn.test";

describe("ACME TLS-ALPN-01 against Pebble", { timeout: 180_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  let pebble: Pebble;
  let root: string;
  let server: Server;
  let port: number;
  let router: TlsAlpnRouter | undefined;
  let manager: AcmeManager | undefined;
  let reloader: CertificateReloader | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-acme-alpn-"));
    dns = await startDnsmasq({ a: { [NAME]: [HOST_IP] } }, { address: "127.0.5.20" });
    // No certificate yet: before the first issuance only ACME validations can complete a handshake.
    server = createServer({}, (_req, res) => res.end("hello\n"));
    await new Promise<void>((r) => server.listen(0, HOST_IP, r));
    port = (server.address() as AddressInfo).port;
    // HTTP-01 is not offered by this server; Pebble still needs a port number for it.
    pebble = await startPebble({ dnsServer: dns.server, httpPort: 9, tlsPort: port, validitySeconds: 3600 });
    root = await pebble.issuingRootPem();
  });

  after(async () => {
    await manager?.stop();
    reloader?.close();
    router?.detach();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await pebble?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("obtains a certificate by TLS-ALPN-01 on the HTTPS listener and serves it with its chain", async () => {
    const log = collectingLog();
    reloader = new CertificateReloader({ log });
    reloader.attach(server);
    manager = new AcmeManager({
      directoryUrl: pebble.directoryUrl,
      domains: [NAME],
      challenge: "tls-alpn-01",
      accountKeyPath: join(dir, "account.key"),
      storageDir: join(dir, "certs"),
      caBundlePath: pebble.apiCaPath,
      clock: unrefClock(),
      log,
      onCertificate: (pair) => reloader!.install(pair, "acme"),
      pollMinMs: 100,
      pollMaxMs: 500,
    });
    router = attachTlsAlpnChallenges(server, manager.responder);
    // Nothing to serve yet: an ordinary client cannot complete a handshake.
    await assert.rejects(tlsPeer(HOST_IP, port, NAME, root));
    const issued = new Promise<RenewOutcome>((resolve) => manager!.onRenewal(resolve));
    await manager.start();
    const outcome = await issued;
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
    assert.ok(log.lines.some((l) => l.msg === "acme: name validated" && l.obj["challenge"] === "tls-alpn-01"));

    const peer = await tlsPeer(HOST_IP, port, NAME, root, ["http/1.1"]);
    assert.equal(peer.serial, outcome.info.serial);
    assert.match(peer.subjectaltname, /DNS:hs\.acme-alpn\.test/);
    assert.equal(peer.chainCNs.length, 3, `chain seen: ${peer.chainCNs.join(" <- ")}`);
    assert.equal(peer.alpnProtocol, "http/1.1");
    assert.equal((await stat(join(dir, "certs", "private-key.pem"))).mode & 0o777, 0o600);
    // The renewal is scheduled at two thirds of Pebble's one-hour lifetime.
    const s = manager.status();
    assert.equal(s.renewAt, outcome.info.notBefore + Math.floor(((outcome.info.notAfter - outcome.info.notBefore) * 2) / 3));
    assert.equal(s.nextAttemptAt, s.renewAt);
    assert.equal(s.warning, undefined);
  });
});

describe("TLS-ALPN-01 router", { timeout: 30_000 }, () => {
  let ca: TestCa;
  let dir: string;
  let server: Server;
  let port: number;
  const responder = new ChallengeResponder();
  let router: TlsAlpnRouter;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-alpn-router-"));
    ca = await createTestCa(dir);
    const real = await ca.issue({ dns: [NAME] });
    server = createServer({ cert: real.certPem, key: real.keyPem }, (_req, res) => res.end("hello\n"));
    await new Promise<void>((r) => server.listen(0, HOST_IP, r));
    port = (server.address() as AddressInfo).port;
    router = attachTlsAlpnChallenges(server, responder);
  });

  after(async () => {
    router?.detach();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await rm(dir, { recursive: true, force: true });
  });

  it("presents the acmeIdentifier certificate only to acme-tls/1 clients while a challenge is pending", async () => {
    const keyAuthorization = "token-abc.thumbprint-xyz";
    const alpnKey = await acme.crypto.createPrivateEcdsaKey();
    const authz = { identifier: { type: "dns", value: NAME } } as unknown as Parameters<typeof acme.crypto.createAlpnCertificate>[0];
    const [, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, alpnKey);
    responder.addAlpn(NAME, alpnCert.toString(), alpnKey.toString());

    // The validation's view: ALPN acme-tls/1 and a self-signed certificate proving the key authorization.
    const { connect } = await import("node:tls");
    const seenByCa = await new Promise<{ cert: string; alpn: string | false }>((resolve, reject) => {
      const s = connect({ host: HOST_IP, port, servername: NAME, ALPNProtocols: [ACME_TLS_ALPN], rejectUnauthorized: false }, () => {
        const raw = s.getPeerCertificate().raw;
        resolve({ cert: `-----BEGIN CERTIFICATE-----\n${raw.toString("base64")}\n-----END CERTIFICATE-----\n`, alpn: s.alpnProtocol ?? false });
        s.end();
      });
      s.on("error", reject);
    });
    assert.equal(seenByCa.alpn, ACME_TLS_ALPN);
    assert.ok(acme.crypto.isAlpnCertificateAuthorizationValid(seenByCa.cert, keyAuthorization));

    // An ordinary client at the same moment still gets the real certificate, verified against the test CA.
    const ordinary = await tlsPeer(HOST_IP, port, NAME, ca.caCertPem, ["h2", "http/1.1"]);
    assert.match(ordinary.subjectaltname, /DNS:hs\.acme-alpn\.test/);
    assert.equal(ordinary.issuerCN, "Zion Test Root CA");

    // Once the challenge is withdrawn, an acme-tls/1 client goes to the listener's ordinary handshake.
    responder.removeAlpn(NAME);
    const after = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: HOST_IP, port, servername: NAME, ALPNProtocols: [ACME_TLS_ALPN], ca: ca.caCertPem }, () => {
        resolve(String(s.getPeerCertificate().issuer?.CN));
        s.end();
      });
      s.on("error", (e) => reject(e));
    }).catch((e: Error) => `error: ${e.message}`);
    // The HTTPS listener speaks only http/1.1, so its own handshake refuses the protocol (RFC 7301 alert 120).
    assert.match(after, /no application protocol/);
  });
});
