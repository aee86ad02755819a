/**
 * FederationClient parses what remote servers answer with the strict parser (core/json), not JSON.parse: a real
 * HTTPS server on 127.0.9.x (test CA, IP-literal server name, so no DNS) answers each request with a body chosen
 * by the test.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { ServerName } from "../../src/core/ids/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { FederationError, type FederationClient } from "../../src/federation/transport/client.js";
import { ipLiteralFederationClient, testHttpsClient } from "../harness/federation-client.js";
import { createTestCa, serveHttps, type TestCa, type TestHttpsServer } from "../harness/test-ca.js";

// One of five addresses 127.0.9.160-164 per run (port 8448 is fixed).
const IP = `127.0.9.${160 + Math.floor(Math.random() * 5)}`;

describe("FederationClient: strict parsing of remote answers (real TLS)", { timeout: 30_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let server: TestHttpsServer;
  let https: HttpsClient;
  let client: FederationClient;
  let status = 200;
  let body: Buffer = Buffer.from("{}");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-client-json-"));
    ca = await createTestCa(dir);
    server = await serveHttps(IP, 8448, await ca.issue({ ip: [IP] }), (_req, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    });
    https = testHttpsClient(ca.caCertPem);
    client = ipLiteralFederationClient(https, "zion.test", signingKeyFromSeed("z1", randomBytes(32)), [`${IP}/32`]);
  });
  after(async () => {
    await https?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const version = () => client.getVersion(`${IP}:8448` as ServerName);
  async function refused(pattern: RegExp) {
    await assert.rejects(version(), (e: unknown) => {
      assert.ok(e instanceof FederationError, String(e));
      assert.equal(e.kind, "bad-response");
      assert.match(e.message, pattern);
      return true;
    });
  }

  it("accepts an ordinary answer, floats included (room versions 1-5 may carry them)", async () => {
    status = 200;
    body = Buffer.from(JSON.stringify({ server: { name: "x", version: "1" }, load: 0.5 }));
    assert.deepEqual(await version(), { server: { name: "x", version: "1" }, load: 0.5 });
  });

  it("refuses a lone UTF-16 surrogate escape, which canonical JSON cannot encode", async () => {
    body = Buffer.from('{"server": {"name": "\\ud800"}}');
    await refused(/not acceptable JSON: server\.name: string contains a lone UTF-16 surrogate/);
  });

  it("refuses nesting deeper than 128 levels before parsing it", async () => {
    body = Buffer.from(`${"[".repeat(200)}${"]".repeat(200)}`);
    await refused(/nested deeper than the limit of 128 levels/);
  });

  it("refuses bytes that are not UTF-8", async () => {
    body = Buffer.concat([Buffer.from('{"server": {"name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    await refused(/not valid UTF-8/);
  });

  it("keeps the remote status and errcode of an error answer even when its body is not JSON", async () => {
    status = 502;
    body = Buffer.from("<html>bad gateway</html>");
    await assert.rejects(version(), (e: unknown) => e instanceof FederationError && e.kind === "http" && e.status === 502);
    status = 200;
  });
});
