/**
 * `zion playground --servers 3` as a user runs it (the compiled CLI as a child process, on 127.0.21.91-93): it
 * prints "ready", the room spans the three servers with a user on each, every server holds every user's hello,
 * the DNS server answers the names, `zion federation-test` between two of them passes, and Ctrl-C stops it all
 * with exit 0 and nothing left listening.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Resolver } from "node:dns/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigWithWarnings } from "../../src/config/index.js";
import { canConnect } from "../harness/ports.js";
import { runZion, type ZionProcess } from "../harness/server.js";

interface Summary {
  dir: string;
  dns: string;
  ca: string;
  room: { roomId: string; alias: string };
  servers: Array<{ name: string; ip: string; configPath: string; clientUrl: string; federationUrl: string; user: { userId: string; password: string; accessToken: string } }>;
}

const FIRST_IP = "127.0.21.91";

describe("zion playground --servers 3", { timeout: 180_000 }, () => {
  let dir: string;
  let pg: ZionProcess;
  let summary: Summary;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-playground-test-"));
    pg = runZion(["playground", "--servers", "3", "--first-ip", FIRST_IP, "--dir", join(dir, "pg")], { cwd: dir });
    await pg.waitForLine((l) => l.startsWith("ready:"), 120_000);
    summary = JSON.parse(await readFile(join(dir, "pg", "playground.json"), "utf8")) as Summary;
  });
  after(async () => {
    await pg?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (s: Summary["servers"][number], path: string): Promise<Record<string, unknown>> => {
    const r = await fetch(`${s.clientUrl}${path}`, { headers: { authorization: `Bearer ${s.user.accessToken}` } });
    assert.equal(r.status, 200, `${s.name} ${path}`);
    return (await r.json()) as Record<string, unknown>;
  };

  it("prints the directory, each server's URLs, user, password and config, and the room", () => {
    const out = pg.output.stdout;
    assert.match(out, new RegExp(`^directory: ${join(dir, "pg").replaceAll(".", "\\.")}$`, "m"));
    assert.equal(summary.servers.length, 3);
    for (const [i, s] of summary.servers.entries()) {
      assert.equal(s.name, `hs${i + 1}.playground.test`);
      assert.equal(s.ip, `127.0.21.${91 + i}`);
      for (const shown of [s.clientUrl, s.federationUrl, s.user.userId, s.user.password, s.configPath]) assert.ok(out.includes(shown), `prints ${shown}`);
    }
    assert.ok(out.includes(summary.room.alias) && out.includes(summary.room.roomId));
    assert.match(out, /Try: npx zion federation-test hs2\.playground\.test -c \S+hs1\/homeserver\.yaml/);
  });

  it("writes ordinary homeserver.yaml files: each parses as a config, trusts only the playground CA, and names the playground's DNS server", async () => {
    for (const s of summary.servers) {
      const text = await readFile(s.configPath, "utf8");
      const { config, warnings } = parseConfigWithWarnings(text, { baseDir: join(dir, "pg"), fileName: s.configPath });
      assert.deepEqual(warnings, [], `${s.name}: no unknown keys`);
      assert.equal(config.server_name, s.name);
      assert.deepEqual(config.dns_servers, [summary.dns]);
      assert.deepEqual(config.federation_custom_ca_list, [summary.ca]);
      assert.deepEqual([...(config.federation_domain_whitelist ?? [])].sort(), summary.servers.map((x) => x.name).sort());
    }
  });

  it("its DNS server answers each name's A record, and no SRV record", async () => {
    const res = new Resolver({ timeout: 2000, tries: 1 });
    res.setServers([summary.dns]);
    for (const s of summary.servers) assert.deepEqual(await res.resolve4(s.name), [s.ip]);
    await assert.rejects(res.resolveSrv("_matrix-fed._tcp.hs1.playground.test"), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
    await assert.rejects(res.resolve4("elsewhere.test"), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
  });

  it("the room spans the three servers: each lists all three users and holds every user's hello", async () => {
    const ids = summary.servers.map((s) => s.user.userId).sort();
    const room = encodeURIComponent(summary.room.roomId);
    for (const s of summary.servers) {
      const joined = (await get(s, `/_matrix/client/v3/rooms/${room}/joined_members`))["joined"] as Record<string, unknown>;
      assert.deepEqual(Object.keys(joined).sort(), ids, `${s.name} lists every member`);
    }
    const hellos = summary.servers.map((s) => `hello from ${s.name}`);
    for (const s of summary.servers) {
      let bodies: string[] = [];
      for (let i = 0; i < 100; i++) {
        const chunk = (await get(s, `/_matrix/client/v3/rooms/${room}/messages?dir=b&limit=50`))["chunk"] as Array<{ type: string; content: { body?: string } }>;
        bodies = chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body ?? "");
        if (hellos.every((h) => bodies.includes(h))) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual([...bodies].sort(), [...hellos].sort(), `${s.name} holds each hello once`);
    }
  });

  it("zion federation-test from hs1's config to hs2 passes", async () => {
    const [hs1, hs2] = summary.servers;
    const t = runZion(["federation-test", hs2!.name, "-c", hs1!.configPath], { cwd: dir });
    assert.equal(await t.exited(), 0, t.output.stdout + t.output.stderr);
    assert.match(t.output.stdout, /^Federation OK/m);
    assert.match(t.output.stdout, /Signed request: the target can discover and verify us/);
  });

  it("Ctrl-C stops every server and the DNS server, exits 0, and keeps the directory", async () => {
    assert.equal(await pg.interrupt(), 0, pg.output.stderr);
    assert.match(pg.output.stdout, /stopped; everything is kept in /);
    for (const s of summary.servers) {
      assert.equal(await canConnect(s.ip, 8008), false, `${s.name} client port closed`);
      assert.equal(await canConnect(s.ip, 8448), false, `${s.name} federation port closed`);
    }
    const [host, port] = summary.dns.split(":");
    assert.equal(await canConnect(host!, Number(port)), false, "DNS (tcp) closed");
    await readFile(summary.servers[0]!.configPath, "utf8");
  });

  it("refuses bad arguments with exit 2", async () => {
    for (const args of [["--servers", "1"], ["--servers", "10"], ["--first-ip", "10.0.0.1"], ["--first-ip", "127.0.0.253", "--servers", "3"]]) {
      const p = runZion(["playground", ...args], { cwd: dir });
      assert.equal(await p.exited(), 2, `${args.join(" ")}: ${p.output.stderr}`);
      assert.match(p.output.stderr, /^zion playground: /);
    }
  });
});
