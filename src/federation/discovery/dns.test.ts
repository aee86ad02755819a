import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeDns } from "./dns.js";
import { lookupHosts, parseHostsFile } from "./hosts-file.js";

/** A DNS server address nothing listens on: any query sent there fails (never "not found"). */
const DEAD_DNS = "127.0.0.1:9";

describe("parseHostsFile", () => {
  it("reads addresses, names and aliases, ignoring comments, blank lines and lines without an address", () => {
    const t = parseHostsFile([
      "# a comment", "", "127.0.0.1\tlocalhost Box.Example.", "::1 localhost ip6-localhost # trailing comment",
      "10.0.0.7 box.example", "not-an-ip name.example", "fe80::1%eth0 zoned.example", "127.0.0.1", "127.0.0.1 localhost",
    ].join("\n"));
    assert.deepEqual(lookupHosts(t, "localhost", "v4"), ["127.0.0.1"]);
    assert.deepEqual(lookupHosts(t, "localhost", "v6"), ["::1"]);
    assert.deepEqual(lookupHosts(t, "BOX.example.", "v4"), ["127.0.0.1", "10.0.0.7"]);
    assert.deepEqual(lookupHosts(t, "box.example", "v6"), []);
    assert.equal(lookupHosts(t, "name.example", "v4"), undefined);
    assert.equal(lookupHosts(t, "zoned.example", "v6"), undefined);
    assert.equal(lookupHosts(t, "unknown.example", "v4"), undefined);
  });
});

describe("NodeDns and the hosts file", () => {
  let dir: string;
  let hostsFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-hosts-"));
    hostsFile = join(dir, "hosts");
    await writeFile(hostsFile, "127.0.3.7 zion-hosts.test alias.zion-hosts.test\n::1 v6only.zion-hosts.test\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("answers A and AAAA from the hosts file before DNS (the DNS server here would fail any query)", async () => {
    const dns = new NodeDns({ servers: [DEAD_DNS], hostsFile, timeoutMs: 300, tries: 1 });
    assert.deepEqual(await dns.a("Zion-Hosts.test"), { ok: true, records: [{ address: "127.0.3.7", ttl: 60 }] });
    assert.deepEqual(await dns.a("alias.zion-hosts.test."), { ok: true, records: [{ address: "127.0.3.7", ttl: 60 }] });
    assert.deepEqual(await dns.aaaa("v6only.zion-hosts.test"), { ok: true, records: [{ address: "::1", ttl: 60 }] });
  });

  it("answers the other family of a listed name as not found without asking DNS, as the system's files source does", async () => {
    const dns = new NodeDns({ servers: [DEAD_DNS], hostsFile, timeoutMs: 300, tries: 1 });
    const r = await dns.aaaa("zion-hosts.test");
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual([r.notFound, r.code], [true, "ENODATA"]);
  });

  it("asks DNS for a name the hosts file does not list", async () => {
    const dns = new NodeDns({ servers: [DEAD_DNS], hostsFile, timeoutMs: 300, tries: 1 });
    const r = await dns.a("absent.zion-hosts.test");
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.notFound, false, `a failed query, not a hosts answer: ${r.code}`);
  });

  it("re-reads the hosts file when it changes", async () => {
    const file = join(dir, "hosts-changing");
    await writeFile(file, "127.0.3.8 moving.zion-hosts.test\n");
    const dns = new NodeDns({ servers: [DEAD_DNS], hostsFile: file, timeoutMs: 300, tries: 1 });
    assert.deepEqual(await dns.a("moving.zion-hosts.test"), { ok: true, records: [{ address: "127.0.3.8", ttl: 60 }] });
    await writeFile(file, "127.0.3.99 moving.zion-hosts.test\n");
    assert.deepEqual(await dns.a("moving.zion-hosts.test"), { ok: true, records: [{ address: "127.0.3.99", ttl: 60 }] });
  });

  it("resolves localhost from the system's /etc/hosts when no dns_servers are configured", async () => {
    const r = await new NodeDns({ timeoutMs: 300, tries: 1 }).a("localhost");
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) assert.ok(r.records.some((x) => x.address.startsWith("127.")), JSON.stringify(r.records));
  });

  it("does not read /etc/hosts when dns_servers are configured (those servers are the whole view)", async () => {
    const r = await new NodeDns({ servers: [DEAD_DNS], timeoutMs: 300, tries: 1 }).a("localhost");
    assert.equal(r.ok, false, JSON.stringify(r));
  });
});
