/**
 * `zion generate-config --server-name NAME --config-path FILE [--data-dir DIR]`:
 * a commented homeserver.yaml that loads without warnings, a new signing key
 * in Synapse's format, a self-signed certificate for the name; never over an
 * existing file; and `zion start -c` runs what it wrote.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigWithWarnings } from "../../src/config/index.js";
import { parseSigningKeyFile } from "../../src/core/crypto/index.js";
import { parseLogLine, runZion } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";

describe("zion generate-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "zion-gen-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "etc", "homeserver.yaml");
  const dataDir = join(dir, "data");

  it("writes a commented config, a signing key and a certificate for the server name", { timeout: 20_000 }, async () => {
    const proc = runZion(
      ["generate-config", "--server-name", "gen.test", "--config-path", configPath, "--data-dir", dataDir, "--client-port", "0", "--federation-port", "0", "--bind-address", "127.0.1.4"],
      { cwd: dir },
    );
    assert.equal(await proc.exited(), 0, proc.output.stderr);
    const text = readFileSync(configPath, "utf8");
    assert.match(text, /^# /m, "commented");
    const { config, warnings } = loadConfigWithWarnings(configPath);
    assert.deepEqual(warnings, []);
    assert.equal(config.server_name, "gen.test");
    assert.equal(config.signing_key_path, join(dataDir, "gen.test.signing.key"));
    const keys = parseSigningKeyFile(readFileSync(config.signing_key_path, "utf8"));
    assert.equal(keys.length, 1);
    assert.match(keys[0]!.keyId, /^ed25519:a_[A-Za-z0-9]{4}$/);
    assert.equal(statSync(config.signing_key_path).mode & 0o077, 0, "the key is private to its owner");
    const cert = new X509Certificate(readFileSync(config.tls_certificate_path!, "utf8"));
    assert.equal(cert.checkHost("gen.test"), "gen.test");
    assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(config.tls_private_key_path!, "utf8"))));
    assert.deepEqual(config.database, { name: "sqlite3", args: { database: join(dataDir, "homeserver.db") } });
    for (const f of [configPath, config.signing_key_path, config.tls_certificate_path!]) assert.match(proc.output.stdout, new RegExp(`created ${f.replace(/[.]/g, "\\.")}`));
  });

  it("says in the file that the default 127.0.0.1 binding is loopback only, and how to open it", { timeout: 20_000 }, async () => {
    const path = join(dir, "loopback", "homeserver.yaml");
    const proc = runZion(["generate-config", "--server-name", "gen.test", "--config-path", path], { cwd: dir });
    assert.equal(await proc.exited(), 0, proc.output.stderr);
    const text = readFileSync(path, "utf8");
    assert.match(text, /^# bind_addresses \["127\.0\.0\.1"\] is loopback only: nothing outside this machine can connect/m);
    assert.match(text, /^# 8448, listen on a reachable address, e\.g\. bind_addresses: \["::", "0\.0\.0\.0"\]/m);
    const withPublic = join(dir, "public", "homeserver.yaml");
    const p2 = runZion(["generate-config", "--server-name", "gen.test", "--config-path", withPublic, "--bind-address", "0.0.0.0"], { cwd: dir });
    assert.equal(await p2.exited(), 0, p2.output.stderr);
    assert.doesNotMatch(readFileSync(withPublic, "utf8"), /loopback only/);
  });

  it("writes x_forwarded, with a comment, only on the plain listener a proxy is expected in front of", { timeout: 20_000 }, async () => {
    // Default public_baseurl https://gen.test/ : a TLS-terminating proxy forwards to the plain listener.
    const proxied = join(dir, "proxied", "homeserver.yaml");
    const p1 = runZion(["generate-config", "--server-name", "gen.test", "--config-path", proxied], { cwd: dir });
    assert.equal(await p1.exited(), 0, p1.output.stderr);
    const text = readFileSync(proxied, "utf8");
    assert.match(text, /# A reverse proxy serves https:\/\/gen\.test\/ and forwards here[^\n]*\n[^\n]*X-Forwarded-For[^\n]*trusted_proxies[^\n]*\n[^\n]*\n {4}x_forwarded: true\n/);
    const { config } = loadConfigWithWarnings(proxied);
    assert.deepEqual(config.listeners.map((l) => [l.port, l.tls, l.x_forwarded]), [[8008, false, true], [8448, true, false]]);
    // public_baseurl naming the listener itself: clients connect directly, nothing forwards.
    const direct = join(dir, "direct", "homeserver.yaml");
    const p2 = runZion(["generate-config", "--server-name", "gen.test", "--config-path", direct, "--public-baseurl", "http://127.0.0.1:8008/"], { cwd: dir });
    assert.equal(await p2.exited(), 0, p2.output.stderr);
    const d = loadConfigWithWarnings(direct);
    assert.deepEqual(d.warnings, []);
    assert.deepEqual(d.config.listeners.map((l) => l.x_forwarded), [false, false]);
    assert.doesNotMatch(readFileSync(direct, "utf8"), /^\s*x_forwarded:/m);
  });

  it("refuses to overwrite an existing config and keeps the key", { timeout: 20_000 }, async () => {
    const keyBefore = readFileSync(join(dataDir, "gen.test.signing.key"), "utf8");
    const proc = runZion(["generate-config", "--server-name", "gen.test", "--config-path", configPath, "--data-dir", dataDir], { cwd: dir });
    assert.equal(await proc.exited(), 1);
    assert.match(proc.output.stderr, /exists already/);
    assert.equal(readFileSync(join(dataDir, "gen.test.signing.key"), "utf8"), keyBefore);
  });

  it("refuses an invalid server name with exit 1", { timeout: 20_000 }, async () => {
    const proc = runZion(["generate-config", "--server-name", "not a name", "--config-path", join(dir, "x.yaml")], { cwd: dir });
    assert.equal(await proc.exited(), 1);
    assert.match(proc.output.stderr, /--server-name: "not a name" is not a valid server name/);
    assert.equal(existsSync(join(dir, "x.yaml")), false);
  });

  it("produces a config that zion start -c runs", { timeout: 30_000 }, async () => {
    const proc = runZion(["start", "-c", configPath], { cwd: dir });
    try {
      const ports: number[] = [];
      await proc.waitForLine((l) => {
        const m = parseLogLine(l);
        if (m?.["msg"] === "listening" && m["tls"] === false) ports.push(Number(m["port"]));
        return m?.["msg"] === "ready";
      }, 20_000);
      const r = await httpCall(`http://127.0.1.4:${ports[0]}/health`);
      assert.equal(r.body, "OK");
      assert.ok(existsSync(join(dataDir, "homeserver.pid")), "pid_file written");
      assert.equal(readFileSync(join(dataDir, "homeserver.pid"), "utf8").trim(), String(proc.child.pid));
    } finally {
      assert.equal(await proc.stop(), 0, proc.output.stderr);
    }
    assert.equal(existsSync(join(dataDir, "homeserver.pid")), false, "pid_file removed at stop");
  });
});
