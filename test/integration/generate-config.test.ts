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
