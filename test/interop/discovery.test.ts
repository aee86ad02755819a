/**
 * Server discovery by name, both ways, between Zion and a real Synapse (issue 6, scenario 4):
 * - Zion finds Synapse through `.well-known/matrix/server` (served by Synapse itself) in one test and through a
 *   `_matrix-fed._tcp` SRV record in another, asking a real DNS server (dnsmasq) set in Zion's `dns_servers`.
 * - Synapse finds Zion by name through its own resolution: hosts entries visible only inside Synapse's private
 *   mount namespace (`unshare --mount`), the machine's /etc/hosts untouched; for a Zion named without a port,
 *   through the `.well-known/matrix/server` Zion serves, or through an SRV record Synapse looks up itself (a private
 *   resolv.conf naming dnsmasq on port 53).
 * Each direction ends in a signed request the other side verifies (404 M_NOT_FOUND for an unknown user).
 * https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 *
 * Cast (names under interop.test; dnsmasq on a free 127.0.4.2xx:53 answers Zion and the SRV Synapse, hosts entries
 * answer the Synapses):
 *   Z   zion.interop.test:<port>     Zion on 127.0.4.43, certificate for zion.interop.test
 *   ZW  zion-wk.interop.test         Zion on 127.0.4.1xx:443 serving /.well-known/matrix/server -> itself :443
 *   ZS  zion-srv.interop.test        Zion on 127.0.4.46:<port>, _matrix-fed._tcp -> fed.zion-srv.interop.test:<port>
 *   SW  synapse-wk.interop.test      Synapse on 127.0.4.1xx:443 (the first free of a random walk over .100-.199, as
 *                                    another run of the suite on the machine may hold one), serving
 *                                    /.well-known/matrix/server -> itself :443
 *   SS  synapse-srv.interop.test     Synapse on 127.0.4.42:<port>, found through
 *                                    _matrix-fed._tcp.synapse-srv.interop.test -> hs.synapse-srv.interop.test:<port>
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerName, UserId } from "../../src/core/ids/index.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { addressWithFreePort } from "../harness/ports.js";
import { freePort, pinnedSynapseVersion, startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { startZionPeer, type ZionPeer } from "./zion-peer.js";

const sn = (s: string) => s as ServerName;
const uid = (s: string) => s as UserId;

const WK_NAME = "synapse-wk.interop.test";
const SRV_NAME = "synapse-srv.interop.test";
const SRV_TARGET = "hs.synapse-srv.interop.test";
const ZION_HOST = "zion.interop.test";
const ZION_WK_NAME = "zion-wk.interop.test";
const ZION_SRV_NAME = "zion-srv.interop.test";
const ZION_SRV_TARGET = "fed.zion-srv.interop.test";
/** Where the servers on port 443 go (well-known is fetched from port 443 only). */
const WK_RANGE = { prefix: "127.0.4.", from: 100, count: 100 };

/** An address in 127.0.4.200-249 where UDP and TCP port 53 are free (Twisted's SRV lookups can only use port 53). */
async function addressFreeOn53(): Promise<string> {
  const start = Math.floor(Math.random() * 50);
  for (let i = 0; i < 50; i++) {
    const ip = `127.0.4.${200 + ((start + i) % 50)}`;
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = createSocket("udp4");
      sock.once("error", () => resolve(false));
      sock.bind(53, ip, () => sock.close(() => resolve(true)));
    });
    const tcpFree = udpFree && (await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(53, ip, () => srv.close(() => resolve(true)));
    }));
    if (tcpFree) return ip;
  }
  throw new Error("port 53 is taken on every address of 127.0.4.200-249");
}

describe("discovery by name between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq | undefined;
  let sw: SynapseHandle | undefined;
  let ss: SynapseHandle | undefined;
  let z: ZionPeer | undefined;
  let zw: ZionPeer | undefined;
  let zs: ZionPeer | undefined;
  let wkIp: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-interop-discovery-"));
    ca = await createTestCa(join(dir, "ca"));
    const srvPort = await freePort("127.0.4.42");
    wkIp = await addressWithFreePort(443, WK_RANGE);
    const zsPort = await freePort("127.0.4.46");
    // One DNS server for both sides: Zion asks it through dns_servers, the SRV Synapse through its private
    // resolv.conf, which can only name port 53.
    dns = await startDnsmasq(
      {
        a: { [WK_NAME]: [wkIp], [SRV_TARGET]: ["127.0.4.42"], [ZION_HOST]: ["127.0.4.43"], [ZION_SRV_TARGET]: ["127.0.4.46"] },
        srv: [
          { name: `_matrix-fed._tcp.${SRV_NAME}`, target: SRV_TARGET, port: srvPort },
          { name: `_matrix-fed._tcp.${ZION_SRV_NAME}`, target: ZION_SRV_TARGET, port: zsPort },
        ],
      },
      { address: await addressFreeOn53(), port: 53 },
    );
    const zionPort = await freePort("127.0.4.43");
    z = await startZionPeer({
      ca, host: "127.0.4.43", port: zionPort, serverName: `${ZION_HOST}:${zionPort}`,
      config: { dns_servers: [dns.server] },
    });
    // ZW: a Zion named without a port, serving /.well-known/matrix/server on 443 (delegating to itself on 443).
    const zwIp = await addressWithFreePort(443, WK_RANGE, [wkIp]);
    zw = await startZionPeer({
      ca, host: zwIp, port: 443, serverName: ZION_WK_NAME,
      config: { dns_servers: [dns.server], serve_server_wellknown: true },
    });
    // ZS: a Zion named without a port, found through _matrix-fed._tcp (certificate for the server name).
    zs = await startZionPeer({ ca, host: "127.0.4.46", port: zsPort, serverName: ZION_SRV_NAME, config: { dns_servers: [dns.server] } });
    // Both Synapses resolve Zion's names through their own hosts file, private to their mount namespace; the SRV
    // Synapse also gets a private resolv.conf naming the test DNS server.
    const namespace = { hosts: [`127.0.4.43 ${ZION_HOST}`, `${zwIp} ${ZION_WK_NAME}`] };
    const wkLeaf = await ca.issue({ dns: [WK_NAME], name: "sw" });
    sw = await startSynapse({
      dir: join(dir, "sw"), bindHost: wkIp, serverName: WK_NAME, ports: { federation: 443 },
      caCertPath: ca.caCertPath, certPath: wkLeaf.chainPath, keyPath: wkLeaf.keyPath,
      extraConfig: { serve_server_wellknown: true }, namespace,
    });
    console.log(`# Synapse ${sw.version} (pinned ${pinnedSynapseVersion()})`);
    const srvLeaf = await ca.issue({ dns: [SRV_NAME], name: "ss" });
    ss = await startSynapse({
      dir: join(dir, "ss"), bindHost: "127.0.4.42", serverName: SRV_NAME, ports: { federation: srvPort },
      caCertPath: ca.caCertPath, certPath: srvLeaf.chainPath, keyPath: srvLeaf.keyPath,
      namespace: { ...namespace, resolvConf: `nameserver ${dns.address}` },
    });
  });

  after(async () => {
    await ss?.stop();
    await sw?.stop();
    await zs?.stop();
    await zw?.stop();
    await z?.stop();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function zionQueriesProfileOn(s: SynapseHandle): Promise<void> {
    await assert.rejects(z!.federation.client.queryProfile(sn(s.serverName), uid(`@nobody:${s.serverName}`)), (e: unknown) => {
      assert.ok(e instanceof FederationError, String(e));
      assert.equal(e.status, 404, `${e.message}\n${s.logTail(20)}`);
      assert.equal(e.errcode, "M_NOT_FOUND");
      return true;
    });
    // Synapse authenticated Zion by its name (after resolving it through its private hosts file to fetch Zion's keys).
    const line = s.log().split("\n").find((l) => l.includes(`{${z!.serverName}}`) && l.includes('"GET /_matrix/federation/v1/query/profile'));
    assert.ok(line, s.logTail(30));
  }

  it("Zion finds Synapse through .well-known/matrix/server (delegation to the named host, step 3.2)", async () => {
    const r = await z!.federation.resolver.resolve(WK_NAME, { noCache: true });
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(r.resolution.step, "3.2");
    assert.equal(r.resolution.delegatedTo, `${WK_NAME}:443`);
    assert.deepEqual(r.resolution.targets.map((t) => `${t.ip}:${t.port}`), [`${wkIp}:443`]);
    assert.equal(r.resolution.tlsName, WK_NAME);
    await zionQueriesProfileOn(sw!);
  });

  it("Zion finds Synapse through the _matrix-fed._tcp SRV record (step 4)", async () => {
    const r = await z!.federation.resolver.resolve(SRV_NAME, { noCache: true });
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(r.resolution.step, "4");
    assert.equal(r.resolution.srvName, `_matrix-fed._tcp.${SRV_NAME}`);
    assert.deepEqual(r.resolution.targets.map((t) => `${t.ip}:${t.port}`), [`127.0.4.42:${ss!.federationPort}`]);
    assert.equal(r.resolution.tlsName, SRV_NAME);
    assert.equal(r.resolution.hostHeader, SRV_NAME);
    await zionQueriesProfileOn(ss!);
  });

  for (const which of ["well-known", "SRV"] as const) {
    it(`Synapse (${which} one) finds Zion by name through its own resolution and Zion verifies it`, async () => {
      const s = which === "well-known" ? sw! : ss!;
      const user = await s.registerUser({ username: `asker${which === "SRV" ? "srv" : "wk"}` });
      const before = z!.logs().filter((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile").length;
      const r = await s.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@x:${z!.serverName}`)}`, { token: user.accessToken });
      assert.equal(r.status, 404, `${r.text}\n${s.logTail(20)}`);
      assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
      const answered = await z!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile", before + 1);
      assert.deepEqual(answered.slice(before).map((l) => l["status"]), [404]);
      assert.equal(z!.logs().filter((l) => l["msg"] === "federation request refused").length, 0);
      // Zion fetched this Synapse's keys by name too (through dnsmasq: well-known or SRV).
      const stored = await z!.server.homeserver!.storage.keys.getAllServerKeys(sn(s.serverName));
      assert.equal(stored.length, 1);
      assert.ok(!readFileSync("/etc/hosts", "utf8").includes(ZION_HOST), "the machine's /etc/hosts is untouched");
    });
  }

  it("Synapse finds a Zion named without a port through Zion's own .well-known/matrix/server, and Zion verifies it", async () => {
    const user = await ss!.registerUser({ username: "askerzw" });
    const r = await ss!.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@x:${ZION_WK_NAME}`)}`, { token: user.accessToken });
    assert.equal(r.status, 404, `${r.text}\n${ss!.logTail(20)}`);
    assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
    // Synapse asked Zion for its delegation, then sent the signed query to the delegated name and port.
    const wk = await zw!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/.well-known/matrix/server", 1);
    assert.deepEqual(wk.map((l) => l["status"]), [200]);
    const answered = await zw!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile", 1);
    assert.deepEqual(answered.map((l) => l["status"]), [404]);
    assert.equal(zw!.logs().filter((l) => l["msg"] === "federation request refused").length, 0);
  });

  it("Synapse finds a Zion named without a port through a _matrix-fed._tcp SRV record (its own DNS lookup), and Zion verifies it", async () => {
    const user = await ss!.registerUser({ username: "askerzs" });
    const r = await ss!.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@x:${ZION_SRV_NAME}`)}`, { token: user.accessToken });
    assert.equal(r.status, 404, `${r.text}\n${ss!.logTail(20)}`);
    assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
    const answered = await zs!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile", 1);
    assert.deepEqual(answered.map((l) => l["status"]), [404]);
    assert.equal(zs!.logs().filter((l) => l["msg"] === "federation request refused").length, 0);
    assert.ok(!readFileSync("/etc/resolv.conf", "utf8").includes(dns!.address), "the machine's /etc/resolv.conf is untouched");
  });
});
