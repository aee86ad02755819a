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
import { invalidServerNameError, makeCheck, plural, ReportBuilder, type Check, type MftConnectionReport, type MftSrvRecord, type Report } from "./report.js";
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
  /** public_baseurl, for the fix of our own client well-known. */
  readonly publicBaseUrl?: string;
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
    else b.fail("policy.whitelist", `${serverName} is not in our federation_domain_whitelist (${plural(wl.length, "entry", "entries")}), so our server refuses to federate with it`);
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
    b.mft.Error = invalidServerNameError(serverName);
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
  // Per address, the connection or certificate failure that keeps the server from talking to it: the checks that
  // need that connection are "not run because of" it, so one root cause shows as one failure.
  const causes = new Map<string, Check>();
  const answering = addressTraces.filter((a) => a.look.ok).map((a) => a.address);
  for (const a of addressTraces) {
    const connectorGroups = groupSteps(a.steps);
    const tlsIds = new Set(a.inspection?.checks.map((c) => c.id) ?? []);
    if (!a.look.ok && !a.steps.some((s) => s.check === "conn.tcp" || s.check.startsWith("tls."))) {
      b.fail("conn.tcp", `cannot connect to ${a.address}: ${a.look.error}`, { address: a.address, fix: connFix(resolved, a.t, answering) });
    }
    for (const g of connectorGroups) {
      const c = groupToCheck(g);
      if (c.id === "conn.tcp" && c.status === "fail") {
        b.add(makeCheck("conn.tcp", "fail", c.detail, { address: a.address, fix: connFix(resolved, a.t, answering) }));
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
    if (a.inspection) b.certificates[a.address] = a.inspection.details;
    const connectorFailed = a.steps.some((s) => stepStatus(s) === "fail");
    const cause = b.checks.find((c) => c.address === a.address && c.status === "fail");
    if (cause && (connectorFailed || !a.look.ok)) causes.set(a.address, cause);
    if (a.keysBody === undefined) {
      const msg = a.keysError ?? "no response";
      const blocked = causes.get(a.address);
      if (!blocked) b.fail("keys.fetch", msg, { address: a.address });
      if (a.uncheckedKeysBody !== undefined) {
        // The server would not fetch keys here, but the keys read over the refused certificate are shown (and
        // checked) all the same, so the operator sees whether the certificate is the only problem. As in
        // matrix-federation-tester, the address gets a connection report with ValidCertificates false (and the
        // certificate problem among its Errors), not a connection error.
        b.skip("keys.fetch", blocked!, "the server does not fetch keys over this connection; read without certificate verification for this report, they are checked below", { address: a.address });
        const k = checkServerKeys(a.uncheckedKeysBody, serverName, env.clock.now(), a.address);
        for (const c of k.checks) b.add({ ...c, detail: `${c.detail} (keys read over the refused certificate)` });
        b.mft.ConnectionReports[a.address] = connectionReport(b, a.address, a.inspection, k, a.uncheckedKeysBody, false);
      } else {
        if (blocked) b.skip("keys.fetch", blocked, undefined, { address: a.address });
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

  // When no address can be used, the requests below cannot reach the server: they say why instead of failing again.
  const blockedAll = resolved.targets.length > 0 && resolved.targets.every((t) => causes.has(formatAddress(t.ip, t.port)))
    ? causes.get(formatAddress(resolved.targets[0]!.ip, resolved.targets[0]!.port))
    : undefined;

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
    // The request failed for the reason already reported on every address: say that, not a routing problem.
    if (blockedAll) b.skip("version", blockedAll, "no address accepts a checked connection");
    else b.fail("version", msg);
  }

  // With -c: can the target discover and verify us?
  if (env.identity?.reachBack && blockedAll) {
    b.skip("reach-back", blockedAll, "our server cannot reach any address of the target");
  } else if (env.identity?.reachBack) {
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

/**
 * The fix for an address nothing answers on. When other addresses of the same name answer, the likeliest cause is a
 * stale A/AAAA record of a machine that is gone; otherwise name the fallback that led there.
 */
function connFix(resolved: Resolution, t: Resolution["targets"][number], answering: readonly string[]): string {
  const address = formatAddress(t.ip, t.port);
  if (answering.length > 0 && isIP(t.host) === 0) {
    const record = isIP(t.ip) === 6 ? "AAAA" : "A";
    return `Nothing answers on ${address}, while ${answering.join(", ")} ${answering.length === 1 ? "does" : "do"}: if the machine at ${t.ip} is gone, remove the stale ${record} record ${t.host} -> ${t.ip} (every peer that picks it waits for a timeout first); otherwise start the homeserver or reverse proxy there and open the firewall.`;
  }
  if (resolved.step === "6" || resolved.step === "3.5") {
    return `Nothing answers on ${address}: with no .well-known delegation and no SRV record, servers connect to port 8448 of ${resolved.tlsName}. Run the federation listener (TLS) on port 8448 there, or serve https://${resolved.serverName}/.well-known/matrix/server with {"m.server": "<host>:443"} pointing at the reverse proxy that serves federation.`;
  }
  return `Nothing answers on ${address}: start the homeserver or reverse proxy there and open the firewall, or remove this address from DNS so servers stop trying it.`;
}

/** The earlier failure whose message `message` repeats (e.g. a DNS failure inside a failed request), if any. */
function causeIn(b: ReportBuilder, message: string, ids: readonly string[]): Check | undefined {
  return b.checks.find((c) => c.status === "fail" && ids.includes(c.id) && c.detail.split("; ").some((d) => d.length > 0 && message.includes(d)));
}

/** "a.test has 1.2.3.4; a.test has 1.2.3.4, 5.6.7.8" (one line per lookup) -> "a.test has 1.2.3.4, 5.6.7.8": each address once. */
function dnsHostCheck(g: ReturnType<typeof groupSteps>[number]): Check {
  const c = groupToCheck(g);
  const byHost = new Map<string, Set<string>>();
  const other: string[] = [];
  for (const s of g.steps) {
    const host = s.data?.["host"];
    const addrs = s.data?.["addresses"];
    if (s.ok && typeof host === "string" && Array.isArray(addrs)) {
      const set = byHost.get(host) ?? new Set<string>();
      for (const x of addrs) set.add(String(x));
      byHost.set(host, set);
    } else if (s.detail && !other.includes(s.detail)) other.push(s.detail);
  }
  const parts = [...[...byHost].map(([h, set]) => `${h} has ${[...set].join(", ")}`), ...other];
  return parts.length ? { ...c, detail: parts.join("; ") } : c;
}

function addResolutionChecks(b: ReportBuilder, trace: CollectingTrace, resolved: Resolution | undefined): void {
  const wellKnownBroken = trace.steps.some((s) => ["well-known.json", "well-known.m-server", "well-known.client-pasted"].includes(s.check) && !s.ok);
  // The resolver's "no usable .well-known; continuing" note repeats what the failing well-known check says.
  const wellKnownFailed = wellKnownBroken || trace.steps.some((s) => s.check === "well-known.fetch" && !s.ok);
  const steps = trace.steps.filter((s) => !(wellKnownFailed && s.check === "well-known.fetch" && s.ok && s.warn));
  for (const g of groupSteps(steps)) {
    if (g.check === "dns.host") {
      b.add(dnsHostCheck(g));
      continue;
    }
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
        // A green tick must not read "failed": say what is absent, and why that is fine.
        const detail = g.steps.find((s) => !s.ok)?.detail ?? "";
        const m = /^GET (\S+) failed: (.*)$/s.exec(detail);
        const seen = m ? `${m[1]} is not served (${m[2]})` : detail.replace(/\bfailed\b/g, "did not answer") || "no /.well-known/matrix/server";
        b.ok("well-known.fetch", `${seen}; that is fine, because federation is served through SRV or port 8448 (resolution step ${resolved.step})`);
        continue;
      }
    }
    if ((g.check === "well-known.fetch" || g.check === "resolution.target") && !resolved) {
      const c = groupToCheck(g);
      const cause = c.status === "fail" ? causeIn(b, c.detail, ["dns.host"]) : undefined;
      if (cause) {
        b.skip(c.id, cause, g.check === "well-known.fetch" ? "the file's host has no address" : "no address to connect to");
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

/** The client well-known fix, with our public_baseurl when the server tested is our own. */
function clientFix(serverName: string, env: FederationTestEnv): { fix?: string } {
  const base = env.identity?.serverName === serverName ? env.identity.publicBaseUrl : undefined;
  if (base === undefined) return {};
  const host = checkServerName(serverName);
  const where = host.ok ? (host.value.kind === "ipv6" ? `[${host.value.host}]` : host.value.host) : serverName;
  return {
    fix: `Serve https://${where}/.well-known/matrix/client with {"m.homeserver": {"base_url": ${JSON.stringify(base.replace(/\/$/, ""))}}} (your public_baseurl) so clients find the homeserver.`,
  };
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
    const msg = (err as Error).message;
    const cause = causeIn(b, msg, ["dns.host"]);
    if (cause) b.skip("client.well-known", cause, `${host} has no address to fetch ${url.pathname} from`);
    else b.warn("client.well-known", `GET ${url.href} failed: ${msg}`, clientFix(serverName, env));
    return;
  }
  if (res.status !== 200) {
    b.warn("client.well-known", `GET ${url.href} answered ${res.status}`, clientFix(serverName, env));
    return;
  }
  const cors = header(res.headers, "access-control-allow-origin");
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(res.body).toString("utf8"));
  } catch {
    b.warn("client.well-known", `${url.href} is not JSON`, clientFix(serverName, env));
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
    b.warn("client.well-known", `${url.href} has no m.homeserver.base_url`, clientFix(serverName, env));
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

