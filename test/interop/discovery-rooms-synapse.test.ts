/**
 * Rooms between Zion and the pinned Synapse where each finds the other by name (issue 15): servers named without a
 * port, found through `/.well-known/matrix/server` delegation in one test and through `_matrix-fed._tcp` SRV records
 * in the other, from a real DNS server (dnsmasq on 127.0.37.53:53) and with certificates from the test CA for those
 * names. Zion asks dnsmasq through `dns_servers`; each Synapse runs in a private mount namespace whose
 * /etc/resolv.conf names dnsmasq (Twisted's SRV lookups can only use port 53), the machine's files untouched.
 * In each test a Synapse user joins a Zion room by alias and a Zion user a Synapse room by alias, messages both ways.
 * https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 *
 * Cast (names under rooms.test, addresses in 127.0.37.0/24):
 *   SW  synapse-wk.rooms.test   Synapse on .41:443 serving /.well-known/matrix/server -> synapse-wk.rooms.test:443
 *   ZW  zion-wk.rooms.test      Zion serving /.well-known/matrix/server on .42:443 -> fed.zion-wk.rooms.test:<port>,
 *                               its federation listener on .43:<port>
 *   SS  synapse-srv.rooms.test  Synapse on .44:<port>; _matrix-fed._tcp.synapse-srv.rooms.test -> hs.synapse-srv.rooms.test
 *   ZS  zion-srv.rooms.test     Zion on .45:<port>; _matrix-fed._tcp.zion-srv.rooms.test -> fed.zion-srv.rooms.test
 * The server names themselves have no address records where SRV is meant, so no step before SRV finds them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import { createFederation, type FederationServices } from "../../src/app/federation.js";
import { newSigningKey, systemClock } from "../../src/app/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { freePort, pinnedSynapseVersion, startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { createRoom, join, seeBodies, seeMembers, sendText, synapseSide, zionSide, type Side, type SideUser } from "../harness/room-sides.js";

const NET = "127.0.37";
const DNS_IP = `${NET}.53`;
const SW = { name: "synapse-wk.rooms.test", ip: `${NET}.41` };
const ZW = { name: "zion-wk.rooms.test", ip: `${NET}.42`, fed: "fed.zion-wk.rooms.test", fedIp: `${NET}.43` };
const SS = { name: "synapse-srv.rooms.test", ip: `${NET}.44`, target: "hs.synapse-srv.rooms.test" };
const ZS = { name: "zion-srv.rooms.test", ip: `${NET}.45`, target: "fed.zion-srv.rooms.test" };
const generous = { per_second: 1000, burst_count: 1000 };

interface NamedZion { server: TestServer; federation: FederationServices; stop(): Promise<void> }

describe("rooms between Zion and Synapse, each found by name", { timeout: 900_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq | undefined;
  let sw: SynapseHandle | undefined;
  let ss: SynapseHandle | undefined;
  let zw: NamedZion | undefined;
  let zs: NamedZion | undefined;

  /** A Zion named `serverName` whose certificate covers `names`, resolving through dnsmasq. */
  async function startNamedZion(serverName: string, names: string[], listeners: unknown[], extra: Record<string, unknown> = {}): Promise<NamedZion> {
    const leaf = await ca.issue({ dns: names });
    const signingKey = newSigningKey();
    const zdir = pathJoin(dir, serverName);
    mkdirSync(zdir, { recursive: true });
    const server = await startTestServer({
      serverName, dir: zdir, signingKey,
      tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
      config: {
        listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] }, ...listeners],
        dns_servers: [dns!.server], ip_range_whitelist: [`${NET}.0/24`], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
        ...extra,
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
    const federation = createFederation(server.config, { keys: server.homeserver!.storage.keys, signingKeys: [signingKey], clock: systemClock });
    return { server, federation, async stop() { await federation.close(); await server.stop(); } };
  }

  before(async () => {
    dir = mkdtempSync(pathJoin(tmpdir(), "zion-discovery-rooms-"));
    ca = await createTestCa(pathJoin(dir, "ca"));
    const zwPort = await freePort(ZW.fedIp);
    const ssPort = await freePort(SS.ip);
    const zsPort = await freePort(ZS.ip);
    dns = await startDnsmasq({
      a: { [SW.name]: [SW.ip], [ZW.name]: [ZW.ip], [ZW.fed]: [ZW.fedIp], [SS.target]: [SS.ip], [ZS.target]: [ZS.ip] },
      srv: [
        { name: `_matrix-fed._tcp.${SS.name}`, target: SS.target, port: ssPort },
        { name: `_matrix-fed._tcp.${ZS.name}`, target: ZS.target, port: zsPort },
      ],
    }, { address: DNS_IP, port: 53 });
    const namespace = { resolvConf: `nameserver ${DNS_IP}` };
    const fedListener = (ip: string, port: number, names = ["federation", "keys"]) => ({ port, bind_addresses: [ip], type: "http", tls: true, resources: [{ names }] });
    const swLeaf = await ca.issue({ dns: [SW.name], name: "sw" });
    const ssLeaf = await ca.issue({ dns: [SS.name], name: "ss" });
    [sw, ss, zw, zs] = await Promise.all([
      startSynapse({
        dir: pathJoin(dir, "sw"), bindHost: SW.ip, serverName: SW.name, ports: { federation: 443 },
        caCertPath: ca.caCertPath, certPath: swLeaf.chainPath, keyPath: swLeaf.keyPath, extraConfig: { serve_server_wellknown: true }, namespace,
      }),
      startSynapse({
        dir: pathJoin(dir, "ss"), bindHost: SS.ip, serverName: SS.name, ports: { federation: ssPort },
        caCertPath: ca.caCertPath, certPath: ssLeaf.chainPath, keyPath: ssLeaf.keyPath, namespace,
      }),
      // The well-known listener on 443 serves only the public routes (/.well-known, /health); federation is on the
      // delegated host and port.
      startNamedZion(ZW.name, [ZW.name, ZW.fed], [fedListener(ZW.ip, 443, []), fedListener(ZW.fedIp, zwPort)], {
        serve_server_wellknown: true, well_known_server: `${ZW.fed}:${zwPort}`,
      }),
      startNamedZion(ZS.name, [ZS.name], [fedListener(ZS.ip, zsPort)]),
    ]);
    console.log(`# Synapse ${sw.version} (pinned ${pinnedSynapseVersion()})`);
  });

  after(async () => {
    await Promise.all([sw?.stop(), ss?.stop(), zw?.stop(), zs?.stop()]);
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A room on `host` with an alias; the other side's user joins by the alias; messages both ways, in order. */
  async function aliasRoom(host: Side, owner: SideUser, guest: Side, visitor: SideUser, localpart: string): Promise<void> {
    const roomId = await createRoom(host, owner, { room_alias_name: localpart });
    assert.equal(await join(guest, visitor, `#${localpart}:${host.serverName}`), roomId, "the alias resolved over federation");
    await seeMembers(host, owner, roomId, [owner.userId, visitor.userId]);
    await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);
    await sendText(host, owner, roomId, `${localpart}: from ${host.label}`);
    await seeBodies(guest, visitor, roomId, [`${localpart}: from ${host.label}`]);
    await sendText(guest, visitor, roomId, `${localpart}: from ${guest.label}`);
    await seeBodies(host, owner, roomId, [`${localpart}: from ${host.label}`, `${localpart}: from ${guest.label}`]);
    await seeBodies(guest, visitor, roomId, [`${localpart}: from ${host.label}`, `${localpart}: from ${guest.label}`]);
  }

  it("through .well-known delegation both ways: a Synapse user in a Zion room and a Zion user in a Synapse room, messages both ways", async () => {
    const r = await zw!.federation.resolver.resolve(SW.name, { noCache: true });
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(r.resolution.step, "3.2", "Zion finds Synapse through its .well-known");
    assert.equal(r.resolution.delegatedTo, `${SW.name}:443`);

    const zion = zionSide(() => zw!.server, ZW.name);
    const syn = synapseSide(() => sw!);
    const [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
    await aliasRoom(zion, alice, syn, bob, "wk-on-zion");
    await aliasRoom(syn, bob, zion, alice, "wk-on-synapse");
    // Synapse found Zion by fetching Zion's delegation, and talked to the delegated host and port.
    const wk = sw!.log().split("\n").filter((l) => l.includes(ZW.name) && /well-known|wellknown/i.test(l));
    assert.ok(wk.some((l) => l.includes(ZW.fed)), `Synapse's log shows the delegation to ${ZW.fed}:\n${wk.slice(-5).join("\n")}\n${sw!.logTail(30)}`);
  });

  it("through _matrix-fed._tcp SRV records both ways: a Synapse user in a Zion room and a Zion user in a Synapse room, messages both ways", async () => {
    const r = await zs!.federation.resolver.resolve(SS.name, { noCache: true });
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(r.resolution.step, "4", "Zion finds Synapse through the SRV record");
    assert.equal(r.resolution.srvName, `_matrix-fed._tcp.${SS.name}`);

    const zion = zionSide(() => zs!.server, ZS.name);
    const syn = synapseSide(() => ss!);
    const [alice, bob] = await Promise.all([zion.register("alice"), syn.register("bob")]);
    await aliasRoom(zion, alice, syn, bob, "srv-on-zion");
    await aliasRoom(syn, bob, zion, alice, "srv-on-synapse");
    assert.ok(!readFileSync("/etc/resolv.conf", "utf8").includes(DNS_IP), "the machine's /etc/resolv.conf is untouched");
  });
});
