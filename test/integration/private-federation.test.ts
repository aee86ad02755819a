/**
 * Follows docs/private-federation.md step by step (issue 11 item 16): its openssl commands make the lab CA, its
 * dnsmasq lines feed the test dnsmasq, its generate-config commands and YAML keys make the two configurations, its
 * start commands start two Zion processes, and its check commands (and the lab block of docs/debug-tools.md) must
 * print what the documents show. The document's addresses are mapped onto loopback: 10.10.0.11/12 onto two addresses
 * of 127.0.20.x (ports 8008 and 8448 as written), 10.10.0.53:53 onto the dnsmasq, 10.10.0.0/24 onto 127.0.20.0/24 (a range of its own: the tester files own fixed 127.0.6.x addresses).
 * Commands run as `zion` on the PATH (the README's global install), the document's `npx zion` without the npx.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { connect } from "node:tls";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { consoleCommands, outputMatches, runDocCommand } from "../harness/doc-examples.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const doc = readFileSync(join(root, "docs/private-federation.md"), "utf8");
const debugDoc = readFileSync(join(root, "docs/debug-tools.md"), "utf8");

// Two addresses from one of 110 blocks in 127.0.20.10-231 (the ports are the document's), so concurrent runs rarely collide.
const BASE = 10 + 2 * Math.floor(Math.random() * 110);
const [IP1, IP2] = [`127.0.20.${BASE}`, `127.0.20.${BASE + 1}`];

/** The body of the code block whose fence is ```<lang> <tag>. */
function block(markdown: string, lang: string, tag: string): string {
  const m = new RegExp("^```" + lang + " " + tag + "\\n([\\s\\S]*?)^```$", "m").exec(markdown);
  assert.ok(m, `the document has a ${lang} ${tag} block`);
  return m[1]!;
}

describe("docs/private-federation.md, followed step by step", { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "zion-lab-"));
  const bin = join(work, ".bin");
  let dns: Dnsmasq;
  const servers = new Map<string, { child: ChildProcess; log: string[] }>();
  let map: Array<[string, string]> = [];
  const subst = (text: string): string => map.reduce((t, [from, to]) => t.split(from).join(to), text).replace(/npx zion /g, "zion ");
  const env = () => ({ PATH: `${bin}:${process.env["PATH"]}` });
  const sh = (command: string) => runDocCommand(subst(command), { cwd: work, env: env(), timeoutMs: 90_000 });

  before(async () => {
    // `zion` on the PATH, as `npm install -g .` would put it.
    mkdirSync(bin);
    symlinkSync(join(root, "dist/src/cli/main.js"), join(bin, "zion"));
  });
  after(async () => {
    await Promise.all([...servers.values()].map(({ child }) => stop(child)));
    await dns?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }

  /** Runs one line of the start block (a foreground server) and waits for its "ready" log line. */
  async function start(line: string): Promise<void> {
    const name = /-c (\S+)\/homeserver\.yaml/.exec(line)![1]!;
    const child = spawn("bash", ["-c", `exec ${subst(line)}`], { cwd: work, env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"] });
    const log: string[] = [];
    servers.set(name, { child, log });
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready in 30 s: ${err}`)), 30_000);
      let partial = "";
      child.stdout!.on("data", (c: Buffer) => {
        partial += c.toString();
        const lines = partial.split("\n");
        partial = lines.pop()!;
        for (const l of lines) {
          log.push(l);
          if (l.includes('"msg":"ready"')) {
            clearTimeout(timer);
            resolveReady();
          }
        }
      });
      child.once("exit", (code) => reject(new Error(`${name} exited ${code}: ${err}`)));
    });
  }

  it("step 1: the openssl commands make a lab CA and a certificate per server name, issued by it", () => {
    const r = sh(block(doc, "sh", "lab-ca"));
    assert.equal(r.code, 0, r.stderr);
    const ca = new X509Certificate(readFileSync(join(work, "lab-ca/ca.crt")));
    assert.equal(ca.ca, true);
    for (const host of ["hs1.lab", "hs2.lab"]) {
      const leaf = new X509Certificate(readFileSync(join(work, `lab-ca/${host}.crt`)));
      assert.equal(leaf.checkHost(host), host);
      assert.ok(leaf.verify(ca.publicKey), `${host} is signed by the lab CA`);
    }
  });

  it("step 2: the dnsmasq lines answer for both names", async () => {
    const a: Record<string, string[]> = {};
    const docIps = new Map<string, string>([["10.10.0.11", IP1], ["10.10.0.12", IP2]]);
    for (const m of block(doc, "ini", "lab-dns").matchAll(/^host-record=([^,\s]+),(\S+)$/gm)) (a[m[1]!] ??= []).push(docIps.get(m[2]!) ?? m[2]!);
    assert.deepEqual(Object.keys(a).sort(), ["hs1.lab", "hs2.lab"]);
    const local = [...block(doc, "ini", "lab-dns").matchAll(/^local=\/([^/]+)\/$/gm)].map((m) => m[1]!);
    dns = await startDnsmasq({ a, local });
    map = [["10.10.0.53:53", dns.server], ["10.10.0.0/24", "127.0.20.0/24"], ["10.10.0.11", IP1], ["10.10.0.12", IP2]];
    assert.deepEqual(await dns.resolver().resolve4("hs2.lab"), [IP2]);
  });

  it("step 3: generate-config and the documented keys make configurations that load without warnings", () => {
    for (const line of block(doc, "sh", "lab-config").trim().split("\n")) {
      const r = sh(line);
      assert.equal(r.code, 0, `${line}: ${r.stderr}`);
    }
    for (const name of ["hs1", "hs2"]) {
      const path = join(work, name, "homeserver.yaml");
      const file = parseDocument(readFileSync(path, "utf8"));
      const keys = parseDocument(subst(block(doc, "yaml", `lab-${name}`))).toJS() as Record<string, unknown>;
      for (const [k, v] of Object.entries(keys)) file.set(k, v);
      writeFileSync(path, file.toString());
      const check = runDocCommand(`zion doctor -c ${name}/homeserver.yaml --no-remote --json`, { cwd: work, env: env() });
      const report = JSON.parse(check.stdout) as { Zion: { Checks: { ID: string; Status: string; Detail: string }[] } } & Record<string, unknown>;
      const config = JSON.stringify(report).includes("unknown key");
      assert.equal(config, false, "no unknown keys");
    }
  });

  it("step 4: both servers start with the start commands", async () => {
    const lines = block(doc, "sh", "lab-start").trim().split("\n");
    assert.equal(lines.length, 2);
    await Promise.all(lines.map(start));
  });

  it("step 5: doctor and federation-test print what the document shows", () => {
    const commands = consoleCommands(doc, "lab-check");
    assert.equal(commands.length, 2);
    for (const c of commands) {
      const r = sh(c.command);
      assert.equal(r.code, c.exit, `${c.command}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.ok(outputMatches(c.expected.map(subst), r.stdout), `${c.command}: output differs from the document:\n${r.stdout}`);
    }
  });

  it("the debug tools' lab examples (docs/debug-tools.md) print what that document shows", () => {
    const commands = consoleCommands(debugDoc, "lab");
    assert.ok(commands.length >= 4);
    for (const c of commands) {
      const r = sh(c.command);
      assert.equal(r.code, c.exit, `${c.command}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.ok(outputMatches(c.expected.map(subst), r.stdout), `${c.command}: output differs from the document:\n${r.stdout}`);
    }
  });

  it("what needs a restart: a replaced certificate is served at once; ip_range_whitelist is not re-read on SIGHUP", async () => {
    const serial = () => new Promise<string>((res, rej) => {
      const s = connect({ host: IP2, port: 8448, servername: "hs2.lab", rejectUnauthorized: false }, () => {
        res(s.getPeerCertificate().serialNumber);
        s.end();
      });
      s.once("error", rej);
    });
    const before = await serial();
    // Re-issue hs2's certificate with the document's own loop, for hs2.lab only, then SIGHUP as the table says.
    const loop = /^for host in [^\n]*\n([\s\S]*?)^done$/m.exec(block(doc, "sh", "lab-ca"))![1]!;
    const r = sh(`host=hs2.lab\n${loop}`);
    assert.equal(r.code, 0, r.stderr);
    servers.get("hs2")!.child.kill("SIGHUP");
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((res) => setTimeout(res, 100));
      after = await serial();
    }
    assert.notEqual(after, before, "the new certificate is served without a restart");

    // Drop ip_range_whitelist from hs1's file and SIGHUP: the running hs1 still connects to the lab (here: it fetches
    // hs2's keys, which it has never fetched before, to authenticate hs2's request), so the change waits for a restart.
    const path = join(work, "hs1", "homeserver.yaml");
    const file = parseDocument(readFileSync(path, "utf8"));
    file.delete("ip_range_whitelist");
    writeFileSync(path, file.toString());
    servers.get("hs1")!.child.kill("SIGHUP");
    await new Promise((res) => setTimeout(res, 300));
    const q = runDocCommand("zion debug federation-request hs1.lab '/_matrix/federation/v1/query/profile?user_id=%40nobody%3Ahs1.lab' -c hs2/homeserver.yaml", { cwd: work, env: env() });
    const answer = JSON.parse(q.stdout) as { status: number; errcode?: string };
    assert.equal(answer.status, 404, `authenticated (the user just does not exist): ${q.stdout}`);
    assert.equal(answer.errcode, "M_NOT_FOUND");
    assert.equal(servers.get("hs1")!.child.exitCode, null, "SIGHUP did not stop the server");
  });
});
