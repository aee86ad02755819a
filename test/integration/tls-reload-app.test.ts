/**
 * Live certificate reload in the real server (`zion start` in a child process): the files behind
 * tls_certificate_path / tls_private_key_path are replaced the way certbot renews (new files in archive/, the
 * live/ symlinks swapped), and every TLS listener serves the new certificate while a connection opened before the
 * swap keeps working; a mismatched pair is refused with a log line and the old one kept. Listeners: 127.0.5.33.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { eventually, swapLink, tlsPeer } from "../harness/pebble.js";
import { parseLogLine, startTestServer, type TestServer } from "../harness/server.js";
import { createTestCa, type IssuedCert, type TestCa } from "../harness/test-ca.js";

const HOST_IP = "127.0.5.33";
const NAME = "hs.reload-app.test";

/** One HTTP/1.1 keep-alive request on an open TLS socket; resolves with the status line. */
function statusOn(socket: TLSSocket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n[\s\S]*?\r\n\r\n/.exec(text);
      const length = /\r\ncontent-length: (\d+)/i.exec(text);
      if (m && length && text.length >= m[0].length + Number(length[1])) {
        socket.off("data", onData);
        resolve(m[1]!);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${NAME}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe("zion start: live certificate reload on every TLS listener", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let zion: TestServer | undefined;
  let version = 0;
  const open: TLSSocket[] = [];
  const serialOf = (c: IssuedCert) => new X509Certificate(c.certPem).serialNumber.toUpperCase();
  const logLines = () => zion!.output.stdout.split("\n").map(parseLogLine).filter((l): l is Record<string, unknown> => l !== undefined);
  const served = async (port: number) => (await tlsPeer(HOST_IP, port, NAME, ca.caCertPem)).serial;
  const ports = () => zion!.listeners.filter((l) => l.tls).map((l) => l.port);

  /** Writes a new pair into archive/ and swaps the live/ symlinks, as `certbot renew` does. */
  async function deploy(certPem: string, keyPem: string): Promise<void> {
    const v = ++version;
    await writeFile(join(dir, "archive", `fullchain${v}.pem`), certPem);
    await writeFile(join(dir, "archive", `privkey${v}.pem`), keyPem, { mode: 0o600 });
    await swapLink(join(dir, "live", "privkey.pem"), `../archive/privkey${v}.pem`);
    await swapLink(join(dir, "live", "fullchain.pem"), `../archive/fullchain${v}.pem`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-tls-reload-app-"));
    ca = await createTestCa(join(dir, "ca"));
    await mkdir(join(dir, "live"), { recursive: true });
    await mkdir(join(dir, "archive"), { recursive: true });
  });

  after(async () => {
    for (const s of open) s.destroy();
    await zion?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("swaps the certificate on both TLS listeners when certbot replaces the files, keeping an open connection", async () => {
    const a = await ca.issue({ dns: [NAME], viaIntermediate: true });
    const b = await ca.issue({ dns: [NAME], viaIntermediate: true });
    await deploy(a.chainPem, a.keyPem);
    zion = await startTestServer({
      serverName: NAME,
      mode: "child",
      tls: { certificatePath: join(dir, "live", "fullchain.pem"), privateKeyPath: join(dir, "live", "privkey.pem") },
      config: {
        listeners: [
          { port: 0, bind_addresses: [HOST_IP], type: "http", tls: true, resources: [{ names: ["federation"] }] },
          { port: 0, bind_addresses: [HOST_IP], type: "http", tls: true, resources: [{ names: ["client"] }] },
        ],
      },
    });
    assert.equal(ports().length, 2);
    for (const port of ports()) assert.equal(await served(port), serialOf(a));

    // A connection opened before the swap, with a request answered on it.
    const before = connect({ host: HOST_IP, port: ports()[0]!, servername: NAME, ca: ca.caCertPem });
    open.push(before);
    await new Promise<void>((r, j) => { before.once("secureConnect", r); before.once("error", j); });
    assert.equal(await statusOn(before, "/_matrix/federation/v1/version"), "200");

    await deploy(b.chainPem, b.keyPem);
    for (const port of ports()) {
      await eventually(`the new serial on port ${port}`, async () => ((await served(port)) === serialOf(b) ? true : undefined));
    }
    // The old connection is still open and still served.
    assert.equal(before.destroyed, false);
    assert.equal(await statusOn(before, "/_matrix/federation/v1/version"), "200");
    const swapped = logLines().find((l) => l["msg"] === "tls: certificate swapped on every listener" && l["source"] === "file change");
    assert.ok(swapped, zion.output.stdout.slice(-3000));
    assert.equal(swapped["listeners"], 2);
    assert.equal(swapped["previousSerial"], serialOf(a));
  });

  it("refuses a key that does not match the new certificate, logs why, and keeps serving the current pair", async () => {
    const current = await served(ports()[0]!);
    const c = await ca.issue({ dns: [NAME] });
    const d = await ca.issue({ dns: [NAME] });
    const refusalsBefore = logLines().filter((l) => l["msg"] === "tls: new certificate refused; keeping the current one").length;
    await deploy(c.certPem, d.keyPem); // c's certificate with d's key
    const refusal = await eventually("the refusal log line", () =>
      logLines().filter((l) => l["msg"] === "tls: new certificate refused; keeping the current one").slice(refusalsBefore)
        .find((l) => /does not match the certificate/.test(String(l["reason"]))));
    assert.equal(refusal["keptSerial"], current);
    for (const port of ports()) assert.equal(await served(port), current);
    assert.equal(zion!.child!.exitCode, null);
  });
});
