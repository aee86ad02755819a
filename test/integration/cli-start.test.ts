/**
 * `zion start -c FILE` as an operator runs it: each class of bad value gives
 * a clear message on stderr and exit code 1 with nothing bound; a good
 * config (including one Synapse generated) starts and stops on SIGTERM.
 * Addresses: 127.0.1.x (the foundation range), ports found free at run time.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { generateSelfSignedCertificate, newSigningKey, writeSigningKeyFile } from "../../src/app/index.js";
import { runZion, parseLogLine, type ZionProcess } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";
import { canConnect, freePort } from "../harness/ports.js";

const HOST = "127.0.1.1";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Runs zion until it exits, probing the port the whole time; returns exit code, stderr, stdout and whether anything ever accepted. */
async function runUntilExit(proc: ZionProcess, port: number): Promise<{ code: number | null; stderr: string; stdout: string; bound: boolean }> {
  let exited = false;
  let bound = false;
  const done = proc.exited().then((c) => {
    exited = true;
    return c;
  });
  const timer = setTimeout(() => void proc.kill(), 15_000);
  while (!exited) {
    if (await canConnect(HOST, port)) bound = true;
    await new Promise((r) => setTimeout(r, 5));
  }
  clearTimeout(timer);
  return { code: await done, stderr: proc.output.stderr, stdout: proc.output.stdout, bound };
}

describe("zion start -c: bad values stop start-up before any port is bound", () => {
  let dir: string;
  let port: number;
  let base: Record<string, unknown>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-cli-"));
    port = await freePort(HOST);
    generateSelfSignedCertificate("zion.test", join(dir, "tls.crt"), join(dir, "tls.key"), 30);
    generateSelfSignedCertificate("other.test", join(dir, "other.crt"), join(dir, "other.key"), 30);
    writeSigningKeyFile(join(dir, "signing.key"), [newSigningKey()]);
    writeFileSync(join(dir, "malformed.key"), "ed25519 a_bcd not*base64*at*all\n");
    base = {
      server_name: "zion.test",
      listeners: [{ port, bind_addresses: [HOST], type: "http", tls: true, resources: [{ names: ["client", "federation"] }] }],
      tls_certificate_path: join(dir, "tls.crt"),
      tls_private_key_path: join(dir, "tls.key"),
      signing_key_path: join(dir, "signing.key"),
      database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
      log_level: "info",
      trusted_key_servers: [],
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function startWith(name: string, config: Record<string, unknown>, raw?: string) {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, raw ?? stringify(config));
    return runUntilExit(runZion(["start", "-c", file], { cwd: dir }), port);
  }

  const cases: { name: string; change: (c: Record<string, unknown>) => void; stderr: RegExp }[] = [
    {
      name: "a value of the wrong type",
      change: (c) => ((c["listeners"] as Record<string, unknown>[])[0]!["port"] = "eighty"),
      stderr: /listeners\[0\]\.port \(line \d+\): Invalid input: expected number, received string/,
    },
    {
      name: "a value outside an enumeration",
      change: (c) => (c["database"] = { name: "mysql", args: {} }),
      stderr: /database\.name \(line \d+\): .*'sqlite3' \| 'psycopg2'/,
    },
    {
      name: "a missing server_name",
      change: (c) => delete c["server_name"],
      stderr: /server_name: is required/,
    },
    {
      name: "an unreadable signing key file",
      change: (c) => (c["signing_key_path"] = "/nonexistent/zion/signing.key"),
      stderr: /signing_key_path: cannot read \/nonexistent\/zion\/signing\.key: ENOENT/,
    },
    {
      name: "a malformed signing key line",
      change: (c) => (c["signing_key_path"] = join(dir, "malformed.key")),
      stderr: /signing_key_path: .*malformed\.key: .*signing key file line 1/,
    },
    {
      name: "a certificate that does not match its key",
      change: (c) => (c["tls_private_key_path"] = join(dir, "other.key")),
      stderr: /tls_private_key_path: .*other\.key is not the private key of the certificate/,
    },
    {
      name: "an unreadable certificate",
      change: (c) => (c["tls_certificate_path"] = join(dir, "missing.crt")),
      stderr: /tls_certificate_path: cannot read .*missing\.crt: ENOENT/,
    },
  ];

  for (const c of cases) {
    it(`exits 1 with a clear message and nothing bound for ${c.name}`, { timeout: 20_000 }, async () => {
      const config = structuredClone(base);
      c.change(config);
      const r = await startWith(c.name.replace(/\W+/g, "-"), config);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, c.stderr);
      assert.equal(r.bound, false, "the port accepted a connection");
      assert.ok(!r.stdout.split("\n").some((l) => parseLogLine(l)?.["msg"] === "listening"), r.stdout);
    });
  }

  it("reports every problem of a file at once", { timeout: 20_000 }, async () => {
    const r = await startWith("many", {}, "server_name: 'bad name'\nlisteners: [{port: 99999, type: http}]\nfederation_enabled: maybe\n");
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("  - ")).length, 3, r.stderr);
    assert.match(r.stderr, /server_name \(line 1\)/);
    assert.match(r.stderr, /listeners\[0\]\.port \(line 2\)/);
    assert.match(r.stderr, /federation_enabled \(line 3\)/);
    assert.equal(r.bound, false);
  });

  it("exits 1 for a config file that does not exist", { timeout: 20_000 }, async () => {
    const r = await runUntilExit(runZion(["start", "-c", join(dir, "nope.yaml")], { cwd: dir }), port);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read the config file: .*nope\.yaml does not exist \(ENOENT\)/);
  });

  it("starts with the good config, binds the port, and exits 0 on SIGTERM (the probe can see a bound port)", { timeout: 20_000 }, async () => {
    const file = join(dir, "good.yaml");
    writeFileSync(file, stringify(base));
    const proc = runZion(["start", "-c", file], { cwd: dir });
    try {
      await proc.waitForLine((l) => parseLogLine(l)?.["msg"] === "ready", 15_000);
      assert.equal(await canConnect(HOST, port), true);
    } finally {
      const code = await proc.stop();
      assert.equal(code, 0, proc.output.stderr);
    }
    assert.equal(await canConnect(HOST, port), false);
  });
});

describe("zion start -c with a Synapse-generated homeserver.yaml", () => {
  it("starts with warnings only, using the Synapse signing key", { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "zion-synapse-cfg-"));
    try {
      cpSync(join(root, "test/fixtures/config/synapse-generated"), dir, { recursive: true });
      const port = await freePort("127.0.1.2");
      const file = join(dir, "homeserver.yaml");
      // Only the listener address changes, so the test owns its port.
      writeFileSync(file, readFileSync(file, "utf8").replace("    - ::1\n    - 127.0.0.1\n    port: 8008", `    - 127.0.1.2\n    # (one address fewer, same line count)\n    port: ${port}`));
      const proc = runZion(["start", "-c", file], { cwd: dir });
      try {
        // log_config sets the level to WARNING, so there is no "ready" line to wait for: poll /health.
        for (let i = 0; ; i++) {
          const ok = await httpCall(`http://127.0.1.2:${port}/health`).then((r) => r.status === 200, () => false);
          if (ok) break;
          if (i > 150 || proc.child.exitCode !== null) assert.fail(`not up: ${proc.output.stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(!proc.output.stdout.includes('"level":"info"'), "log_config's root level WARNING is applied");
        const warnings = proc.output.stderr.split("\n").filter((l) => l.startsWith("zion: warning: "));
        assert.deepEqual(warnings, [
          "zion: warning: report_stats (line 27): unknown key, ignored",
          "zion: warning: macaroon_secret_key (line 28): unknown key, ignored",
          "zion: warning: form_secret (line 29): unknown key, ignored",
        ]);
        const keys = (await httpCall(`http://127.0.1.2:${port}/_matrix/key/v2/server`)).json();
        assert.deepEqual(Object.keys(keys["verify_keys"] as object), ["ed25519:a_nBIS"], "the key Synapse generated");
        assert.equal((await httpCall(`http://127.0.1.2:${port}/health`)).body, "OK");
      } finally {
        assert.equal(await proc.stop(), 0, proc.output.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
