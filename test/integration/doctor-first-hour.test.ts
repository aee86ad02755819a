/**
 * The operator's first hour with `zion doctor` (issue 11 item 11): a config straight from `generate-config` binds
 * loopback, and the doctor says so when the server name resolves elsewhere (through the test dnsmasq, named in
 * dns_servers); config problems are one line each; `--no-remote` never claims anything about federation; a missing
 * file is named; a misspelt key gets the nearest known key.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { runZion } from "../harness/server.js";

describe("zion doctor in the first hour", () => {
  const dir = mkdtempSync(join(tmpdir(), "zion-doctor-hour-"));
  const configPath = join(dir, "homeserver.yaml");
  let dns: Dnsmasq;

  before(async () => {
    // hour.test is published at a documentation address (never connected to); local.test at loopback.
    dns = await startDnsmasq({ a: { "hour.test": ["192.0.2.10"], "local.test": ["127.0.0.1"] } });
  });
  after(async () => {
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function zion(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = runZion(args, { cwd: dir, env: { NO_COLOR: "1" } });
    const code = await p.exited();
    return { code, ...p.output };
  }

  it("warns that a generated config's loopback-only federation listener cannot be reached while the name resolves elsewhere", { timeout: 30_000 }, async () => {
    const g = await zion(["generate-config", "--server-name", "hour.test", "--config-path", configPath]);
    assert.equal(g.code, 0, g.stderr);
    appendFileSync(configPath, `dns_servers: [${JSON.stringify(dns.server)}]\n`);
    const r = await zion(["doctor", "-c", configPath, "--no-remote"]);
    assert.match(r.stdout, /^⚠ Federation listener is reachable from other machines: the federation listener on port 8448 listens only on 127\.0\.0\.1 \(loopback\), but hour\.test resolves to 192\.0\.2\.10: no other server can connect$/m, r.stdout);
    assert.match(r.stdout, /fix: Set bind_addresses on the listener on port 8448/);
  });

  it("does not warn when the name resolves to loopback as well", { timeout: 30_000 }, async () => {
    const path = join(dir, "local.yaml");
    const g = await zion(["generate-config", "--server-name", "local.test", "--config-path", path, "--data-dir", join(dir, "local")]);
    assert.equal(g.code, 0, g.stderr);
    appendFileSync(path, `dns_servers: [${JSON.stringify(dns.server)}]\n`);
    const r = await zion(["doctor", "-c", path, "--no-remote"]);
    assert.match(r.stdout, /^✓ Federation listener is reachable from other machines: .*local\.test resolves to loopback too/m, r.stdout);
  });

  it("never says 'Federation NOT OK' (or OK) under --no-remote: the verdict is about the local setup", { timeout: 30_000 }, async () => {
    const r = await zion(["doctor", "-c", configPath, "--no-remote"]);
    assert.doesNotMatch(r.stdout, /Federation (NOT )?OK/);
    assert.match(r.stdout, /^Local setup NOT OK: \d+ failures?/m, r.stdout); // the self-signed certificate, the database not created yet
    assert.equal(r.code, 1);
  });

  it("prints each configuration problem on its own line, as start does", { timeout: 30_000 }, async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "server_name: hour.test\nlisteners:\n  - port: eighty\n    type: http\n  - port: -1\n    type: http\n");
    const r = await zion(["doctor", "-c", bad, "--no-remote"]);
    const fails = r.stdout.split("\n").filter((l) => l.startsWith("✗ Configuration loads:"));
    assert.deepEqual(fails.map((l) => l.replace(/^.*bad\.yaml: /, "")), [
      "listeners[0].port (line 3): Invalid input: expected number, received string",
      "listeners[1].port (line 5): Too small: expected number to be >=0",
    ]);
    const start = await zion(["start", "-c", bad]);
    assert.equal(start.code, 1);
    for (const problem of ["listeners[0].port (line 3)", "listeners[1].port (line 5)"]) assert.match(start.stderr, new RegExp(`^  - ${problem.replace(/[[\]().]/g, "\\$&")}`, "m"));
  });

  it("names the config file that does not exist and how to make one", { timeout: 30_000 }, async () => {
    const r = await zion(["doctor", "-c", join(dir, "nothere.yaml"), "--no-remote"]);
    assert.match(r.stdout, /✗ Configuration loads: .*nothere\.yaml: cannot read the config file: .*nothere\.yaml does not exist \(ENOENT\)/);
    assert.match(r.stdout, /fix: Give -c the path of an existing homeserver\.yaml, or write one with `npx zion generate-config`/);
  });

  it("suggests the nearest known key for a misspelt one (the warning comes from src/config, so start prints it too)", { timeout: 30_000 }, async () => {
    const typo = join(dir, "typo.yaml");
    writeFileSync(typo, "server_name: hour.test\nfederation_domain_whitlist: [a.test]\nlisteners: []\n");
    const r = await zion(["doctor", "-c", typo, "--no-remote"]);
    assert.match(r.stdout, /^⚠ Configuration loads: .*typo\.yaml: federation_domain_whitlist \(line 2\): unknown key, ignored \(did you mean federation_domain_whitelist\?\)$/m, r.stdout);
  });
});
