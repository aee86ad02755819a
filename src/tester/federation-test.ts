/**
 * `zion federation-test <server_name>`: runs the server's own resolution
 * (federation/discovery's ServerResolver, with no cache), TLS connector and
 * HTTPS client with a trace, turns every traced step into a check, then tests
 * EVERY resolved address: TCP, TLS (inspected in detail here), the server keys
 * and their self-signature, the federation version, the same keys everywhere;
 * then the client side (/.well-known/matrix/client, CORS, /_matrix/client/versions);
 * and, with our own identity, whether our whitelist allows the target and
 * whether a signed request from us is accepted (the target can discover and
 * verify us).
 *
 * Resolution: https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 */
import { connect, type TLSSocket } from "node:tls";
import { isIP } from "node:net";
import type { Clock } from "../core/clock.js";
import { checkServerName, type ServerName } from "../core/ids/index.js";
import { checkServerKeys as serverKeysVerdict } from "../federation/keys/server-keys.js";
import { canonicalJson } from "../core/json/canonical.js";
import {
  ServerResolver, WellKnownResolver, httpsGetVia, lookupAddresses, type Dns, type IpRangePolicy, type Resolution, type SrvAnswer,
} from "../federation/discovery/index.js";
import { formatAddress } from "../federation/tls/connector.js";
import { HttpsClient, HttpsRequestError, type HttpsResponse } from "../federation/tls/https-client.js";
import { TlsPolicy } from "../federation/tls/policy.js";
import { checkServerKeys } from "./key-checks.js";
import { makeCheck, ReportBuilder, type Check, type MftConnectionReport, type MftSrvRecord, type Report } from "./report.js";
import { inspectTls, peerInfoFromSocket, trustAnchors, type TlsInspection } from "./tls-inspect.js";
import { CollectingTrace, groupSteps, groupToCheck, lastData, stepStatus } from "./trace-checks.js";

export interface ReachBackResult {
  readonly ok: boolean;
  /** HTTP status of the signed request, when one came back. */
  readonly status?: number;
  readonly detail: string;
  readonly fix?: string;
}

export interface TesterIdentity {
  readonly serverName: string;
  /** federation_domain_whitelist, when configured. */
  readonly whitelist?: readonly string[];
  /** Sends a signed federation request to the target (a profile query for a user that does not exist). */
  readonly reachBack?: (target: string) => Promise<ReachBackResult>;
}

export interface FederationTestEnv {
  readonly dns: Dns;
  readonly ipPolicy: IpRangePolicy;
  readonly tlsPolicy: TlsPolicy;
  readonly clock: Clock;
  /** Port of /.well-known (default 443; tests may move it). */
  readonly wellKnownPort?: number;
  readonly timeoutMs?: number;
  /** Present with `-c`: our own server's identity. */
  readonly identity?: TesterIdentity;
}

export interface RunOptions {
  /** Called as work starts (the progress line). */
  readonly onStart?: (what: string) => void;
  readonly onCheck?: (c: Check) => void;
  /** Reuse a builder (the doctor adds these checks after its local ones). */
  readonly builder?: ReportBuilder;
}

const RESOLUTION_PHASE_ONLY = new Set(["tls.handshake", "tls.chain", "tls.name", "tls.expiry", "conn.tcp"]);

function mftError(message: string): { Message: string } {
  return { Message: message };
}

function header(h: HttpsResponse["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** One address's TLS facts from a connection made only to look (verification is the connector's job). */
function inspectAddress(ip: string, port: number, tlsName: string, timeoutMs: number): Promise<{ ok: true; socket: TLSSocket } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const socket = connect({
      host: ip, port, ...(isIP(tlsName) === 0 ? { servername: tlsName } : {}), rejectUnauthorized: false, ALPNProtocols: ["http/1.1"],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: `no TLS handshake within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      resolve({ ok: true, socket });
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message });
    });
  });
}

function safeCanonical(v: unknown): string {
  try {
    return canonicalJson(v);
  } catch {
    return JSON.stringify(v);
  }
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

export async function runFederationTest(serverName: string, env: FederationTestEnv, opts: RunOptions = {}): Promise<Report> {
  const b = opts.builder ?? new ReportBuilder("federation-test", serverName, env.clock.now());
  if (!opts.builder) {
    if (opts.onCheck) b.onCheck(opts.onCheck);
    if (opts.onStart) b.onStart(opts.onStart);
  }
  const timeoutMs = env.timeoutMs ?? 10_000;
  const https = new HttpsClient(env.tlsPolicy, { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  // The same HTTPS client with certificate checks off, used only to read the keys of an address whose certificate
  // the server refuses, so that address still gets a ConnectionReport (ValidCertificates false), as
  // matrix-federation-tester gives it; whether the server would connect stays the verifying client's verdict.
  const unverified = new HttpsClient(new TlsPolicy({ verifyCertificates: false }), { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  try {
    await runInto(b, serverName, env, { https, unverified }, timeoutMs);
  } finally {
    await Promise.all([https.close(), unverified.close()]);
  }
  return b.finish(env.clock.now());
}

async function runInto(
  b: ReportBuilder, serverName: string, env: FederationTestEnv, clients: { https: HttpsClient; unverified: HttpsClient }, timeoutMs: number,
): Promise<void> {
  const { https, unverified } = clients;
  const trace = new CollectingTrace((s) => b.starting(s.detail ?? s.check));

  // Our own whitelist (with -c): would we even talk to the target?
  const wl = env.identity?.whitelist;
  if (wl !== undefined) {
    if (wl.includes(serverName)) b.ok("policy.whitelist", `${serverName} is in our federation_domain_whitelist`);
    else b.fail("policy.whitelist", `${serverName} is not in our federation_domain_whitelist (${wl.length} entr${wl.length === 1 ? "y" : "ies"}), so our server refuses to federate with it`);
  }

  // Resolution, through the server's own resolver.
  b.starting(`resolving ${serverName}`);
  const get = httpsGetVia(env.dns, env.ipPolicy, https);
  const wellKnown = new WellKnownResolver(get, env.clock, { ...(env.wellKnownPort !== undefined ? { port: env.wellKnownPort } : {}), timeoutMs });
  const resolver = new ServerResolver({ dns: env.dns, wellKnown, clock: env.clock, ipPolicy: env.ipPolicy });
  const outcome = await resolver.resolve(serverName, { trace, noCache: true });
  const resolved = outcome.ok ? outcome.resolution : undefined;
  addResolutionChecks(b, trace, resolved);
  fillMftResolution(b, trace, resolved);
  if (!checkServerName(serverName).ok) {
    b.mft.Error = `Invalid server name '${serverName}'`;
    return;
  }
  await ignoredSrvChecks(b, env.dns, serverName, resolved);
  await wellKnownEverywhere(b, serverName, env, https, timeoutMs);
  if (!resolved) {
    if (!outcome.ok && !b.checks.some((c) => c.status === "fail")) b.fail("resolution.target", outcome.reason);
    await clientChecks(b, serverName, env, get);
    return;
  }

  // Every address.
  const addressTraces = await Promise.all(resolved.targets.map(async (t) => {
    const address = formatAddress(t.ip, t.port);
    b.starting(`testing ${address}`);
    const addrTrace = new CollectingTrace((s) => b.starting(s.detail ?? s.check));
    const look = await inspectAddress(t.ip, t.port, resolved.tlsName, timeoutMs);
    let inspection: TlsInspection | undefined;
    if (look.ok) {
      const info = peerInfoFromSocket(look.socket);
      look.socket.destroy();
      const anchors = env.tlsPolicy.ca ? trustAnchors(env.tlsPolicy.ca, false) : trustAnchors([], true);
      inspection = inspectTls(info, {
        expectedHost: resolved.tlsName, address, now: env.clock.now(), anchors, verifyCertificates: env.tlsPolicy.verifies(resolved.tlsName),
      });
    }
    const fetchKeys = async (client: HttpsClient, trace?: CollectingTrace): Promise<{ body?: unknown; error?: string }> => {
      try {
        const res = await client.request({
          targets: [t], tlsName: resolved.tlsName, hostHeader: resolved.hostHeader, method: "GET", path: "/_matrix/key/v2/server",
          timeoutMs, maxResponseBytes: 1024 * 1024, ...(trace ? { trace } : {}),
        });
        if (res.status !== 200) return { error: `GET /_matrix/key/v2/server answered ${res.status}` };
        const j = parseJson(res.body);
        return j.ok ? { body: j.value } : { error: `GET /_matrix/key/v2/server did not return JSON (${j.reason})` };
      } catch (err) {
        return { error: err instanceof HttpsRequestError ? (err.attempts[0]?.error ?? err.message) : (err as Error).message };
      }
    };
    const verified = await fetchKeys(https, addrTrace);
    // The server refused the certificate but the TLS handshake works: read the keys anyway, for the report only.
    const certRefused = verified.body === undefined && look.ok && addrTrace.steps.some((s) => s.check.startsWith("tls.") && !s.ok);
    const unchecked = certRefused ? await fetchKeys(unverified) : undefined;
    return {
      t, address, look, inspection, keysBody: verified.body, keysError: verified.error, uncheckedKeysBody: unchecked?.body, steps: addrTrace.steps,
    };
  }));

  const keySets: { address: string; verifyKeys: string; serverName: unknown }[] = [];
  for (const a of addressTraces) {
    const connectorGroups = groupSteps(a.steps);
    const tlsIds = new Set(a.inspection?.checks.map((c) => c.id) ?? []);
    if (!a.look.ok && !a.steps.some((s) => s.check === "conn.tcp" || s.check.startsWith("tls."))) {
      b.fail("conn.tcp", `cannot connect to ${a.address}: ${a.look.error}`, { address: a.address, fix: connFix(resolved, a.address) });
    }
    for (const g of connectorGroups) {
      const c = groupToCheck(g);
      if (c.id === "conn.tcp" && c.status === "fail") {
        b.add(makeCheck("conn.tcp", "fail", c.detail, { address: a.address, fix: connFix(resolved, a.address) }));
        continue;
      }
      // The inspection's richer check stands in for the connector's, unless the connector refused what it passed.
      if (tlsIds.has(c.id)) {
        const mine = a.inspection!.checks.find((x) => x.id === c.id)!;
        if (c.status === "fail" && mine.status !== "fail") b.add(c);
        continue;
      }
      b.add(c);
    }
    if (a.look.ok && !a.steps.some((s) => s.check === "conn.tcp")) b.ok("conn.tcp", `connected to ${a.address}`, { address: a.address });
    for (const c of a.inspection?.checks ?? []) b.add(c);
    const connectorFailed = a.steps.some((s) => stepStatus(s) === "fail");
    if (a.keysBody === undefined) {
      const msg = a.keysError ?? "no response";
      if (!connectorFailed) b.fail("keys.fetch", msg, { address: a.address });
      if (a.uncheckedKeysBody !== undefined) {
        // matrix-federation-tester reports an address that served keys over a refused certificate as a
        // connection with ValidCertificates false (and the certificate problem among its Errors), not as an error.
        const k = checkServerKeys(a.uncheckedKeysBody, serverName, env.clock.now(), a.address);
        b.mft.ConnectionReports[a.address] = connectionReport(b, a.address, a.inspection, k, a.uncheckedKeysBody, false);
      } else {
        b.mft.ConnectionErrors[a.address] = mftError(msg);
      }
      continue;
    }
    b.ok("keys.fetch", `GET /_matrix/key/v2/server answered 200`, { address: a.address });
    const k = checkServerKeys(a.keysBody, serverName, env.clock.now(), a.address);
    for (const c of k.checks) b.add(c);
    // The server's own key check decides whether it would use these keys; report anything it refuses that ours passed.
    const server = serverKeysVerdict(a.keysBody, serverName as ServerName);
    if (!server.ok && !k.checks.some((c) => c.status === "fail")) {
      b.fail(server.check, `our server would refuse these keys: ${server.reason}`, { address: a.address });
    }
    b.mft.ConnectionReports[a.address] = connectionReport(b, a.address, a.inspection, k, a.keysBody, a.inspection?.validCertificates ?? false);
    const vk = (a.keysBody as Record<string, unknown>)?.["verify_keys"];
    keySets.push({ address: a.address, verifyKeys: safeCanonical(vk ?? null), serverName: (a.keysBody as Record<string, unknown>)?.["server_name"] });
  }
  if (keySets.length > 1) {
    const distinct = new Set(keySets.map((k) => `${String(k.serverName)}|${k.verifyKeys}`));
    if (distinct.size === 1) b.ok("keys.consistent", `the same keys on all ${keySets.length} addresses`);
    else {
      b.fail("keys.consistent", `the addresses serve different keys: ${keySets.map((k) => `${k.address} -> ${String(k.serverName)} ${k.verifyKeys}`).join("; ")}`);
    }
  }

  // Federation version (the server's HTTPS client, falling back across addresses as the server would).
  b.starting("GET /_matrix/federation/v1/version");
  try {
    const res = await https.request({
      targets: resolved.targets, tlsName: resolved.tlsName, hostHeader: resolved.hostHeader, method: "GET",
      path: "/_matrix/federation/v1/version", timeoutMs, maxResponseBytes: 64 * 1024,
    });
    const j = parseJson(res.body);
    const server = j.ok && typeof j.value === "object" && j.value !== null ? (j.value as { server?: { name?: unknown; version?: unknown } }).server : undefined;
    if (res.status === 200 && server && typeof server.name === "string") {
      b.mft.Version = { name: server.name, ...(typeof server.version === "string" ? { version: server.version } : {}) };
      b.ok("version", `${server.name} ${typeof server.version === "string" ? server.version : ""} (from ${res.address})`.trim());
    } else {
      const msg = `GET /_matrix/federation/v1/version answered ${res.status}${j.ok ? "" : " (not JSON)"}`;
      b.mft.Version = { error: msg };
      b.fail("version", msg);
    }
  } catch (err) {
    const msg = (err as Error).message;
    b.mft.Version = { error: msg };
    const unreachable = Object.keys(b.mft.ConnectionReports).length === 0;
    b.fail("version", msg, unreachable ? { fix: "No address accepted a checked TLS connection: fix the connection and certificate failures above first." } : {});
  }

  // With -c: can the target discover and verify us?
  if (env.identity?.reachBack) {
    b.starting(`signed request from ${env.identity.serverName} to ${serverName}`);
    try {
      const r = await env.identity.reachBack(serverName);
      if (r.ok) b.ok("reach-back", r.detail);
      else b.fail("reach-back", r.detail, r.fix !== undefined ? { fix: r.fix } : {});
    } catch (err) {
      b.fail("reach-back", `the signed request could not be sent: ${(err as Error).message}`);
    }
  }

  await clientChecks(b, serverName, env, get);
}

/** matrix-federation-tester's ConnectionReport for one address: its certificates, cipher, key checks and failures. */
function connectionReport(
  b: ReportBuilder, address: string, inspection: TlsInspection | undefined, k: ReturnType<typeof checkServerKeys>, keys: unknown, validCertificates: boolean,
): MftConnectionReport {
  return {
    Certificates: inspection?.certificates ?? [],
    Cipher: inspection?.cipher ?? { Version: "", CipherSuite: "" },
    Checks: { ...k.mft, ValidCertificates: validCertificates, AllChecksOK: k.mft.AllChecksOK && validCertificates },
    Errors: b.checks.filter((c) => c.address === address && c.status === "fail").map((c) => mftError(c.detail)),
    Ed25519VerifyKeys: k.verifyKeys,
    Info: {},
    Keys: keys,
  };
}

/** The fix for an address nothing answers on, naming the fallback that led there. */
function connFix(resolved: Resolution, address: string): string {
  if (resolved.step === "6" || resolved.step === "3.5") {
    return `Nothing answers on ${address}: with no .well-known delegation and no SRV record, servers connect to port 8448 of ${resolved.tlsName}. Run the federation listener (TLS) on port 8448 there, or serve https://${resolved.serverName}/.well-known/matrix/server with {"m.server": "<host>:443"} pointing at the reverse proxy that serves federation.`;
  }
  return `Nothing answers on ${address}: start the homeserver or reverse proxy there and open the firewall, or remove this address from DNS so servers stop trying it.`;
}

function addResolutionChecks(b: ReportBuilder, trace: CollectingTrace, resolved: Resolution | undefined): void {
  const wellKnownBroken = trace.steps.some((s) => ["well-known.json", "well-known.m-server", "well-known.client-pasted"].includes(s.check) && !s.ok);
  // The resolver's "no usable .well-known; continuing" note repeats what the failing well-known check says.
  const wellKnownFailed = wellKnownBroken || trace.steps.some((s) => s.check === "well-known.fetch" && !s.ok);
  const steps = trace.steps.filter((s) => !(wellKnownFailed && s.check === "well-known.fetch" && s.ok && s.warn));
  for (const g of groupSteps(steps)) {
    if (g.check === "well-known.cache" && !steps.some((s) => s.check === "well-known.m-server" && s.ok)) continue;
    if (g.check === "well-known.cache") {
      b.add(cacheCheck(groupToCheck(g)));
      continue;
    }
    if (RESOLUTION_PHASE_ONLY.has(g.check)) {
      // Connections made to fetch .well-known: only problems are worth a line, and "refused" is said by well-known.fetch.
      const c = groupToCheck(g, resolved ? { cap: "warn" } : {});
      if (c.status === "ok" || c.id === "conn.tcp") continue;
      b.add({ ...c, title: `${c.title.replace(/ \(.*\)$/, "")} (.well-known, ${g.address ?? "?"})` });
      continue;
    }
    if (g.check === "well-known.fetch" && !wellKnownBroken) {
      // No .well-known at all is a valid setup when SRV or port 8448 serves federation.
      const failed = g.steps.some((s) => !s.ok);
      if (failed && resolved) {
        const detail = g.steps.find((s) => !s.ok)?.detail ?? "no .well-known/matrix/server";
        b.ok("well-known.fetch", `${detail}; that is fine when federation is served through SRV or port 8448 (resolution step ${resolved.step})`);
        continue;
      }
    }
    if (g.check === "resolution.target" && resolved) {
      const c = groupToCheck(g);
      b.add({ ...c, detail: `${STEP_WHY[resolved.step](resolved)}; ${c.detail}` });
      continue;
    }
    b.add(groupToCheck(g));
  }
}

/** The resolver says how long it keeps the file and why; a lifetime under 5 minutes (or no-store) deserves a note. */
function cacheCheck(c: Check): Check {
  const m = /cached for (\d+) s \(([^)]*)\)/.exec(c.detail);
  if (!m) return c;
  const source = m[2]!;
  const maxAge = /max-age=(\d+)/.exec(source);
  if (/no-store|no-cache/.test(source) || (maxAge && Number(maxAge[1]) < 300)) {
    return makeCheck("well-known.cache", "warn", `${source}: servers re-fetch the file at least every 5 minutes instead of caching it (kept ${m[1]} s)`, {
      fix: "Send 'Cache-Control: max-age=86400' (a day) or at least an hour, so peers do not fetch the file on nearly every request.",
    });
  }
  if (source === "default") return makeCheck("well-known.cache", "ok", `no Cache-Control or Expires header: servers keep the answer ${Math.round(Number(m[1]) / 3600)} h`);
  return c;
}

/** Why each step of https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names was the one used. */
const STEP_WHY: Record<Resolution["step"], (r: Resolution) => string> = {
  "1": () => "the server name is an IP address, so no delegation is looked up",
  "2": () => "the server name has an explicit port, so neither .well-known nor SRV is consulted",
  "3.1": (r) => `.well-known delegates to the IP address ${r.delegatedTo}`,
  "3.2": (r) => `.well-known delegates to ${r.delegatedTo}, which has a port, so SRV is not consulted`,
  "3.3": (r) => `.well-known delegates to ${r.delegatedTo} without a port, and the SRV record ${r.srvName} was found`,
  "3.4": (r) => `.well-known delegates to ${r.delegatedTo} without a port; only the deprecated SRV record ${r.srvName} was found`,
  "3.5": (r) => `.well-known delegates to ${r.delegatedTo} without a port and it has no SRV record, so port 8448`,
  "4": (r) => `no usable .well-known, so the SRV record ${r.srvName} is used`,
  "5": (r) => `no usable .well-known and no _matrix-fed._tcp record, so the deprecated ${r.srvName} is used`,
  "6": () => "no usable .well-known and no SRV record, so port 8448 of the server name",
};

function fillMftResolution(b: ReportBuilder, trace: CollectingTrace, resolved: Resolution | undefined): void {
  const wk = b.mft.WellKnownResult;
  const ms = lastData(trace.steps, "well-known.m-server");
  if (ms && typeof ms["m.server"] === "string") {
    wk["m.server"] = ms["m.server"];
    const cache = lastData(trace.steps, "well-known.cache");
    if (cache && typeof cache["expiresAt"] === "number") wk.CacheExpiresAt = Math.floor(cache["expiresAt"] / 1000);
  } else {
    const failed = trace.steps.find((s) => s.check.startsWith("well-known.") && !s.ok);
    wk.result = failed?.detail ?? "no .well-known/matrix/server";
  }
  const dns = b.mft.DNSResult;
  const step = resolved?.step;
  dns.SRVSkipped = step === "1" || step === "2" || step === "3.1" || step === "3.2";
  // Go's resolver, whose answers matrix-federation-tester reports, writes DNS names fully qualified ("name.").
  const fqdn = (n: string) => (n === "" || n.endsWith(".") ? n : `${n}.`);
  dns.SRVCName = fqdn(resolved?.srvName ?? "");
  const srvData = [...trace.steps].reverse().find((s) => (s.check === "srv.matrix-fed" || s.check === "srv.matrix") && s.data?.["records"]);
  const records = srvData?.data?.["records"] as readonly SrvAnswer[] | undefined;
  dns.SRVRecords = records ? records.map((r): MftSrvRecord => ({ Target: fqdn(r.target), Port: r.port, Priority: r.priority, Weight: r.weight })) : null;
  const srvFail = trace.steps.find((s) => (s.check === "srv.matrix-fed" || s.check === "srv.matrix") && !s.ok);
  const srvNotFound = trace.steps.filter((s) => s.check === "srv.matrix-fed" || s.check === "srv.matrix").map((s) => s.detail).find((d) => d?.startsWith("no SRV"));
  dns.SRVError = srvFail?.detail ? mftError(srvFail.detail) : !records && !dns.SRVSkipped && srvNotFound ? mftError(srvNotFound) : null;
  for (const s of trace.steps) {
    if (s.check === "dns.host" && s.data && typeof s.data["host"] === "string") {
      dns.Hosts[s.data["host"]] = { CName: `${s.data["host"]}.`, Addrs: [...(s.data["addresses"] as string[])], Error: null };
    } else if (s.check === "srv.cname" && !s.ok) {
      const m = /SRV target (\S+) is a CNAME \(to ([^)]+)\)/.exec(s.detail ?? "");
      if (m) dns.Hosts[m[1]!] = { CName: m[2]!.split(",")[0]!.trim(), Addrs: null, Error: mftError(s.detail ?? "") };
    } else if (s.check === "dns.host" && !s.ok) {
      const host = /^(?:AAAA\/A lookup of )?(\S+)/.exec(s.detail ?? "")?.[1];
      if (host) dns.Hosts[host] = { CName: "", Addrs: null, Error: mftError(s.detail ?? "") };
    }
  }
  dns.Addrs = resolved ? resolved.targets.map((t) => formatAddress(t.ip, t.port)) : null;
}

/**
 * The resolver fetches /.well-known/matrix/server from the first address of the host that accepts a connection;
 * a peer may land on any of them. Ask every address and compare: a machine behind one A record that answers 404
 * (or delegates elsewhere) loses the delegation for every peer that picks it.
 */
async function wellKnownEverywhere(b: ReportBuilder, serverName: string, env: FederationTestEnv, https: HttpsClient, timeoutMs: number): Promise<void> {
  const parsed = checkServerName(serverName);
  if (!parsed.ok || parsed.value.kind !== "dns" || parsed.value.port !== undefined) return;
  const host = parsed.value.host;
  const port = env.wellKnownPort ?? 443;
  const quiet = new CollectingTrace();
  const found = await lookupAddresses(env.dns, env.ipPolicy, host, port, quiet);
  if (!found.ok || found.targets.length < 2) return;
  b.starting(`GET /.well-known/matrix/server from each of ${found.targets.length} addresses`);
  const answers = await Promise.all(found.targets.map(async (t) => {
    const address = formatAddress(t.ip, t.port);
    try {
      const res = await https.request({
        targets: [t], tlsName: host, hostHeader: port === 443 ? host : `${host}:${port}`, method: "GET", path: "/.well-known/matrix/server",
        timeoutMs, maxResponseBytes: 50 * 1024,
      });
      const j = parseJson(res.body);
      const m = j.ok && typeof j.value === "object" && j.value !== null ? (j.value as Record<string, unknown>)["m.server"] : undefined;
      const what = res.status === 200 ? (typeof m === "string" ? `"m.server": ${JSON.stringify(m)}` : "200 without a valid m.server") : `status ${res.status}`;
      return { address, connected: true, what };
    } catch (err) {
      return { address, connected: false, what: err instanceof HttpsRequestError ? (err.attempts[0]?.error ?? err.message) : (err as Error).message };
    }
  }));
  const answered = answers.filter((a) => a.connected);
  if (answered.length === 0) return; // no .well-known anywhere: well-known.fetch says so
  const distinct = new Set(answered.map((a) => a.what));
  const list = answers.map((a) => `${a.address}: ${a.connected ? a.what : `no answer (${a.what})`}`).join("; ");
  if (distinct.size > 1) {
    b.fail("well-known.addresses", `the addresses of ${host} disagree, so a peer's result depends on the address it picks: ${list}`);
  } else if (answered.length < answers.length) {
    b.warn("well-known.addresses", `some addresses of ${host} do not answer on port ${port} (peers retry another address, but each failure costs a timeout): ${list}`, {
      fix: `Serve /.well-known/matrix/server on every address of ${host}, or remove the A/AAAA records of machines that are down.`,
    });
  } else {
    b.ok("well-known.addresses", `all ${answers.length} addresses of ${host} answer the same (${[...distinct][0] ?? "nothing"})`);
  }
}

/** SRV records that exist but that resolution never consulted, and why. */
async function ignoredSrvChecks(b: ReportBuilder, dns: Dns, serverName: string, resolved: Resolution | undefined): Promise<void> {
  const parsed = checkServerName(serverName);
  if (!parsed.ok || parsed.value.kind !== "dns") return;
  const host = parsed.value.host;
  const look = async (name: string) => {
    const r = await dns.srv(name);
    return r.ok ? r.records.filter((x) => x.target !== "." && x.target !== "") : [];
  };
  const names = [`_matrix-fed._tcp.${host}`, `_matrix._tcp.${host}`];
  const found = await Promise.all(names.map(look));
  const describe = (rs: readonly SrvAnswer[]) => rs.map((r) => `${r.target}:${r.port}`).join(", ");
  if (parsed.value.port !== undefined) {
    names.forEach((n, i) => {
      if (found[i]!.length) b.warn("srv.ignored", `${n} (${describe(found[i]!)}) is ignored because the server name has an explicit port`);
    });
    return;
  }
  if (resolved?.delegatedTo !== undefined) {
    names.forEach((n, i) => {
      if (found[i]!.length) {
        b.warn("srv.ignored", `${n} (${describe(found[i]!)}) is ignored because /.well-known/matrix/server delegates to ${resolved.delegatedTo}, which takes precedence`, {
          fix: `Remove ${n}, or make it agree with the delegation: servers look up SRV records of the delegated host (${resolved.delegatedTo}), not of ${host}.`,
        });
      }
    });
    return;
  }
  if (resolved?.srvName === names[0] && found[1]!.length) {
    b.ok("srv.ignored", `${names[1]} (${describe(found[1]!)}) is ignored because ${names[0]} takes precedence; keep it only for servers older than Matrix v1.8`);
  }
}

/** Client side: /.well-known/matrix/client, its CORS header, and /_matrix/client/versions at its base_url. */
async function clientChecks(
  b: ReportBuilder, serverName: string, env: FederationTestEnv, get: ReturnType<typeof httpsGetVia>,
): Promise<void> {
  const parsed = checkServerName(serverName);
  if (!parsed.ok) return;
  const host = parsed.value.kind === "ipv6" ? `[${parsed.value.host}]` : parsed.value.host;
  const port = env.wellKnownPort ?? 443;
  const url = new URL(`https://${host}${port === 443 ? "" : `:${port}`}/.well-known/matrix/client`);
  b.starting(`GET ${url.href}`);
  const quiet = new CollectingTrace();
  const timeoutMs = env.timeoutMs ?? 10_000;
  let res;
  try {
    res = await get(url, { timeoutMs, maxBytes: 64 * 1024, trace: quiet });
  } catch (err) {
    b.warn("client.well-known", `GET ${url.href} failed: ${(err as Error).message}`);
    return;
  }
  if (res.status !== 200) {
    b.warn("client.well-known", `GET ${url.href} answered ${res.status}`);
    return;
  }
  const cors = header(res.headers, "access-control-allow-origin");
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(res.body).toString("utf8"));
  } catch {
    b.warn("client.well-known", `${url.href} is not JSON`);
    return;
  }
  const hs = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["m.homeserver"] : undefined;
  const baseUrl = typeof hs === "object" && hs !== null ? (hs as Record<string, unknown>)["base_url"] : undefined;
  if (typeof body === "object" && body !== null && "m.server" in body && hs === undefined) {
    b.warn("client.well-known", `${url.href} holds "m.server" (the server well-known) instead of "m.homeserver"`, {
      fix: 'Move {"m.server": ...} to /.well-known/matrix/server and serve {"m.homeserver": {"base_url": "https://<client host>"}} here.',
    });
    return;
  }
  if (typeof baseUrl !== "string") {
    b.warn("client.well-known", `${url.href} has no m.homeserver.base_url`);
    return;
  }
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    b.warn("client.well-known", `m.homeserver.base_url ${JSON.stringify(baseUrl)} is not a URL`, { fix: 'Set "base_url" to an absolute https URL such as "https://matrix.example.org".' });
    return;
  }
  b.ok("client.well-known", `m.homeserver.base_url is ${baseUrl}`);
  if (cors === "*") b.ok("client.cors", "Access-Control-Allow-Origin: *");
  else b.warn("client.cors", cors ? `Access-Control-Allow-Origin is ${JSON.stringify(cors)}, not *` : "no Access-Control-Allow-Origin header");
  if (base.protocol !== "https:") {
    b.warn("client.versions", `base_url ${baseUrl} is not https, so browsers on https pages cannot use it`, { fix: "Serve the client API over https and put the https URL in base_url." });
    return;
  }
  const versionsUrl = new URL(`${base.pathname.replace(/\/$/, "")}/_matrix/client/versions`, base);
  try {
    const v = await get(versionsUrl, { timeoutMs, maxBytes: 64 * 1024, trace: quiet });
    const j = parseJson(Buffer.from(v.body));
    const versions = j.ok && typeof j.value === "object" && j.value !== null ? (j.value as Record<string, unknown>)["versions"] : undefined;
    if (v.status === 200 && Array.isArray(versions)) b.ok("client.versions", versions.length === 0 ? `${versionsUrl.href} lists no spec version (no client-server API yet)` : `${versionsUrl.href} lists ${versions.length} versions (latest ${String(versions[versions.length - 1])})`);
    else b.warn("client.versions", `${versionsUrl.href} answered ${v.status}${Array.isArray(versions) ? "" : " without a versions list"}`);
  } catch (err) {
    b.warn("client.versions", `GET ${versionsUrl.href} failed: ${(err as Error).message}`);
  }
}

