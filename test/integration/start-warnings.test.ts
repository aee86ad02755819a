/**
 * What `zion start` says loudly once it is up (issue 11 item 12): a federation certificate that does not cover the
 * name other servers will expect, on stderr and in the log; and the federation tester's URL when it is enabled.
 * Addresses: 127.0.1.x (the foundation range), ports found free at run time.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { generateSelfSignedCertificate, newSigningKey, writeSigningKeyFile } from "../../src/app/index.js";
import { httpCall } from "../harness/http-get.js";
import { freePort } from "../harness/ports.js";
import { parseLogLine, runZion } from "../harness/server.js";

const HOST = "127.0.1.9";

describe("zion start: loud warnings and the tester's URL", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "zion-start-warn-"));
    generateSelfSignedCertificate("warn.test", join(dir, "warn.crt"), join(dir, "warn.key"), 30);
    generateSelfSignedCertificate("other.test", join(dir, "other.crt"), join(dir, "other.key"), 30);
    generateSelfSignedCertificate("matrix.warn.test", join(dir, "matrix.crt"), join(dir, "matrix.key"), 30);
    writeSigningKeyFile(join(dir, "signing.key"), [newSigningKey()]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts with `over`, waits for "ready", returns stderr, the log lines, the plain listener's port; then stops. */
  async function startWith(name: string, over: Record<string, unknown>, during?: (plainPort: number) => Promise<void>) {
    const [tlsPort, plainPort] = [await freePort(HOST), await freePort(HOST)];
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, stringify({
      server_name: "warn.test",
      listeners: [
        { port: tlsPort, bind_addresses: [HOST], type: "http", tls: true, resources: [{ names: ["federation"] }] },
        { port: plainPort, bind_addresses: [HOST], type: "http", resources: [{ names: ["client"] }] },
      ],
      tls_certificate_path: join(dir, "warn.crt"),
      tls_private_key_path: join(dir, "warn.key"),
      signing_key_path: join(dir, "signing.key"),
      database: { name: "sqlite3", args: { database: join(dir, `${name}.db`) } },
      trusted_key_servers: [],
      log_level: "info",
      ...over,
    }));
    const proc = runZion(["start", "-c", path], { cwd: dir });
    const logs: Record<string, unknown>[] = [];
    try {
      await proc.waitForLine((l) => {
        const m = parseLogLine(l);
        if (m) logs.push(m);
        return m?.["msg"] === "ready";
      }, 20_000);
      await during?.(plainPort);
    } finally {
      assert.equal(await proc.stop(), 0, proc.output.stderr);
    }
    return { stderr: proc.output.stderr, logs };
  }

  it("warns on stderr and in the log when the certificate does not cover the server name", { timeout: 30_000 }, async () => {
    const r = await startWith("wrong-name", { tls_certificate_path: join(dir, "other.crt"), tls_private_key_path: join(dir, "other.key") });
    assert.match(r.stderr, /^zion: WARNING: the federation certificate does not cover warn\.test, the name other servers will expect \(no delegation configured, so peers use port 8448\): .*other\.test/m);
    const logged = r.logs.find((l) => l["certificate"] === true);
    assert.ok(logged, "a log line for the certificate");
    assert.equal(logged["level"], "warn");
  });

  it("checks the delegated host when .well-known delegates: the server name's certificate is then the wrong one", { timeout: 30_000 }, async () => {
    const r = await startWith("delegated", { serve_server_wellknown: true, well_known_server: "matrix.warn.test:443" });
    assert.match(r.stderr, /zion: WARNING: the federation certificate does not cover matrix\.warn\.test, the name other servers will expect \(\/\.well-known\/matrix\/server/);
    const ok = await startWith("delegated-ok", {
      serve_server_wellknown: true, well_known_server: "matrix.warn.test:443",
      tls_certificate_path: join(dir, "matrix.crt"), tls_private_key_path: join(dir, "matrix.key"),
    });
    assert.doesNotMatch(ok.stderr, /WARNING/);
  });

  it("says nothing when the certificate covers the name", { timeout: 30_000 }, async () => {
    const r = await startWith("right-name", {});
    assert.doesNotMatch(r.stderr, /WARNING/);
    assert.equal(r.logs.some((l) => l["certificate"] === true), false);
  });

  it("logs the federation tester's URL when the tester is enabled, and the page answers there", { timeout: 30_000 }, async () => {
    let page = 0;
    const r = await startWith("tester", { federation_tester: { enabled: true }, public_baseurl: "https://warn.test/" }, async (plainPort) => {
      page = (await httpCall(`http://${HOST}:${plainPort}/federation-tester`)).status;
    });
    const line = r.logs.find((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("federation tester enabled"));
    assert.ok(line, "a log line naming the tester");
    assert.match(String(line["url"]), new RegExp(`^http://${HOST.replace(/\./g, "\\.")}:\\d+/federation-tester$`));
    assert.equal(line["public_url"], "https://warn.test/federation-tester");
    assert.equal(page, 200);
    const off = await startWith("tester-off", {});
    assert.equal(off.logs.some((l) => String(l["msg"]).startsWith("federation tester")), false);
  });
});
