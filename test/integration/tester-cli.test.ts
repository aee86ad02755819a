/**
 * `zion federation-test` as a process: the --json report validates against its JSON Schema
 * (test/fixtures/tester/report.schema.json: matrix-federation-tester's top-level fields plus Zion's), the exit
 * codes are 0 (federation OK), 1 (not OK) and 2 (usage error), and the human report has one line per check with
 * a fix under every warning and failure, and no colour or progress line when not on a terminal.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { serveFederation, serveWellKnown, type Running, lockAddresses } from "./tester-remotes.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const main = join(root, "dist/src/cli/main.js");

function zion(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", rej);
    child.once("exit", (code) => { clearTimeout(timer); res({ code, stdout, stderr }); });
  });
}

describe("zion federation-test (process)", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  const running: Running[] = [];
  let common: string[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ajv's compiled validator type
  let validate: any;

  let unlock: (() => void) | undefined;
  before(async () => {
    unlock = await lockAddresses("cli");
    dir = await mkdtemp(join(tmpdir(), "zion-tester-cli-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({
      a: { "ok.cli.test": ["127.0.6.20"], "two.cli.test": ["127.0.6.21", "127.0.6.22"] },
      srv: [{ name: "_matrix-fed._tcp.two.cli.test", target: "two.cli.test", port: 8448 }],
    }, { address: "127.0.6.249" });
    const okCert = await ca.issue({ dns: ["ok.cli.test"] });
    running.push(await serveWellKnown("127.0.6.20", { tls: okCert, serverBody: '{"m.server": "ok.cli.test:8448"}', clientBody: '{"m.homeserver": {"base_url": "https://ok.cli.test:8448"}}', clientCors: true }));
    running.push(await serveFederation("127.0.6.20", { tls: okCert, keysServerName: "ok.cli.test" }));
    // two.cli.test: two addresses serving different keys (two different homeservers behind one name).
    const twoCert = await ca.issue({ dns: ["two.cli.test"] });
    running.push(await serveFederation("127.0.6.21", { tls: twoCert, keysServerName: "two.cli.test" }));
    running.push(await serveFederation("127.0.6.22", { tls: twoCert, keysServerName: "two.cli.test" }));
    await writeFile(join(dir, "ca.pem"), ca.caCertPem);
    common = ["--dns-server", dns.server, "--ca-file", join(dir, "ca.pem"), "--timeout", "5000"];
    const schema = JSON.parse(await readFile(join(root, "test/fixtures/tester/report.schema.json"), "utf8")) as object;
    // ajv's CommonJS default export under NodeNext.
    const AjvClass = (Ajv as unknown as { default?: typeof Ajv }).default ?? Ajv;
    validate = new (AjvClass as unknown as new (o: object) => { compile(s: object): unknown })({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
  });

  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
    unlock?.();
  });

  it("prints a --json report that matches the schema and exits 0 when federation is OK", async () => {
    const r = await zion(["federation-test", "ok.cli.test", ...common, "--json"]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(validate(report), true, JSON.stringify(validate.errors, null, 2));
    assert.equal(report["FederationOK"], true);
    assert.equal((report["WellKnownResult"] as Record<string, unknown>)["m.server"], "ok.cli.test:8448");
    assert.equal(r.stderr, "", "no progress line when stderr is not a terminal");
  });

  it("prints a --json report that matches the schema and exits 1 when federation is not OK", async () => {
    const r = await zion(["federation-test", "two.cli.test", ...common, "--json"]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as { FederationOK: boolean; Zion: { Checks: { id: string; status: string; fix?: string }[] }; DNSResult: { SRVRecords: unknown[]; Addrs: string[] } };
    assert.equal(validate(report), true, JSON.stringify(validate.errors, null, 2));
    assert.equal(report.FederationOK, false);
    const c = report.Zion.Checks.find((x) => x.id === "keys.consistent");
    assert.equal(c?.status, "fail");
    assert.ok(c?.fix);
    assert.equal(report.DNSResult.SRVRecords.length, 1);
    assert.equal(report.DNSResult.Addrs.length, 2);
  });

  it("refuses a schema-breaking report (the schema test can fail)", () => {
    assert.equal(validate({ FederationOK: "yes" }), false);
    assert.equal(validate({
      WellKnownResult: { "m.server": "", CacheExpiresAt: 0 }, DNSResult: { SRVSkipped: false, SRVCName: "", SRVRecords: null, SRVError: null, Hosts: {}, Addrs: null },
      ConnectionReports: {}, ConnectionErrors: {}, Version: {}, FederationOK: false,
      Zion: { Kind: "federation-test", ServerName: "x", StartedAt: 0, FinishedAt: 0, Summary: { ok: 0, warn: 0, fail: 1 }, Checks: [{ id: "conn.tcp", title: "TCP", status: "fail", detail: "refused" }] },
    }), false, "a failing check without a fix is refused");
  });

  it("prints one line per check with a fix under each warning and failure, without colour off a terminal", async () => {
    const r = await zion(["federation-test", "two.cli.test", ...common]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /\x1b\[/);
    const lines = r.stdout.split("\n");
    assert.match(lines[0]!, /^Federation test for two\.cli\.test$/);
    for (let i = 0; i < lines.length; i++) {
      if (/^[⚠✗] /.test(lines[i]!)) assert.match(lines[i + 1] ?? "", /^ {4}fix: \S/, `no fix under: ${lines[i]}`);
    }
    assert.ok(lines.some((l) => /^✗ Same keys on every address: /.test(l)));
    assert.ok(lines.some((l) => /^✓ /.test(l)));
    assert.match(r.stdout, /\nFederation NOT OK: \d+ failures?/);
  });

  it("on a terminal, draws a progress line while checks run and colours the statuses", async () => {
    // util-linux's script(1) (Debian's essential bsdutils) runs the command on a pseudo-terminal.
    const quote = (x: string) => `'${x.replace(/'/g, "'\\''")}'`;
    const cmd = [process.execPath, main, "federation-test", "ok.cli.test", ...common].map(quote).join(" ");
    const r = await new Promise<{ code: number | null; out: string }>((res, rej) => {
      const child = spawn("script", ["-qec", cmd, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "", TERM: "xterm" } });
      let out = "";
      child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("error", rej);
      child.once("exit", (code) => { clearTimeout(timer); res({ code, out }); });
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\r\x1b\[2K. \d+ checks? done: /, "a progress line rewritten in place");
    assert.match(r.out, /\x1b\[32m✓\x1b\[0m Server name is valid/);
    assert.match(r.out, /Federation OK/);
  });

  it("writes the HTML page with the report embedded when asked", async () => {
    const html = join(dir, "report.html");
    const r = await zion(["federation-test", "ok.cli.test", ...common, "--html", html]);
    assert.equal(r.code, 0);
    const text = await readFile(html, "utf8");
    assert.match(text, /^<!doctype html>/);
    const embedded = /<script type="application\/json" id="report">(.*?)<\/script>/s.exec(text);
    assert.ok(embedded);
    const report = JSON.parse(embedded[1]!) as { FederationOK: boolean; Zion: { ServerName: string } };
    assert.equal(report.FederationOK, true);
    assert.equal(report.Zion.ServerName, "ok.cli.test");
  });

  it("zion doctor reports a configuration that does not load as its first failure (exit 1, schema-valid JSON)", async () => {
    const bad = join(dir, "broken.yaml");
    await writeFile(bad, "server_name: doctor.cli.test\nlisteners: 7\n");
    const r = await zion(["doctor", "-c", bad, "--json"]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { FederationOK: boolean; Zion: { Kind: string; Checks: { id: string; status: string; detail: string }[] } };
    assert.equal(validate(report), true, JSON.stringify(validate.errors, null, 2));
    assert.equal(report.Zion.Kind, "doctor");
    assert.equal(report.Zion.Checks[0]?.id, "local.config");
    assert.equal(report.Zion.Checks[0]?.status, "fail");
    assert.match(report.Zion.Checks[0]!.detail, /listeners/);
  });

  it("exits 2 for usage errors", async () => {
    assert.equal((await zion(["federation-test"])).code, 2);
    assert.equal((await zion(["federation-test", "x.test", "--no-such-flag"])).code, 2);
    assert.equal((await zion(["federation-test", "x.test", "--timeout", "soon"])).code, 2);
    assert.equal((await zion(["federation-test", "x.test", "-c", join(dir, "missing.yaml")])).code, 2);
    assert.equal((await zion(["doctor"])).code, 2);
  });
});
