/**
 * `/.well-known/matrix/server`: step 3 of https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 * and the schema at https://spec.matrix.org/v1.16/server-server-api/#getwell-knownmatrixserver.
 *
 * 1. GET https://<hostname>/.well-known/matrix/server (port 443), the host resolved by A/AAAA and every address
 *    passed through the IP-range policy, the certificate checked for <hostname>.
 * 2. Follow 30x redirects to https URLs, at most MAX_REDIRECTS hops, never the same URL twice.
 * 3. The body must be at most MAX_BYTES and arrive within the timeout; non-200 is an error.
 * 4. The body must be a JSON object whose "m.server" is a server name by the grammar (delegated_hostname[:port]).
 * 5. Cache: successes per Cache-Control max-age / Expires, default 24 h, at least 5 min, at most 48 h; errors
 *    with exponential back-off (2 min doubling per consecutive failure, at most 1 h).
 */
import type { Clock } from "../../core/clock.js";
import { checkServerName, type ParsedServerName } from "../../core/ids/server-name.js";
import type { Trace } from "../trace.js";

export const WELL_KNOWN_MAX_BYTES = 50 * 1024;
export const WELL_KNOWN_MAX_REDIRECTS = 5;
export const WELL_KNOWN_TIMEOUT_MS = 10_000;
export const WELL_KNOWN_DEFAULT_CACHE_MS = 24 * 3600_000;
export const WELL_KNOWN_MIN_CACHE_MS = 5 * 60_000;
export const WELL_KNOWN_MAX_CACHE_MS = 48 * 3600_000;
export const WELL_KNOWN_ERROR_FIRST_MS = 2 * 60_000;
export const WELL_KNOWN_ERROR_MAX_MS = 3600_000;

export type WellKnownResult =
  | { readonly ok: true; readonly mServer: string; readonly delegated: ParsedServerName }
  | { readonly ok: false; readonly reason: string };

export interface WellKnownResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
}

/** One HTTPS GET of an absolute https URL (resolved, policy-checked, certificate-checked); throws on transport failure. */
export type WellKnownGet = (url: URL, opts: { timeoutMs: number; maxBytes: number; trace: Trace }) => Promise<WellKnownResponse>;

interface CacheEntry {
  readonly result: WellKnownResult;
  readonly expiresAt: number;
  /** Consecutive failures (0 after a success). */
  readonly failures: number;
}

function header(h: WellKnownResponse["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Step 5 for successes: how long to keep a 200 response. */
export function cachePeriodMs(headers: WellKnownResponse["headers"], now: number): { ms: number; source: string } {
  const cc = header(headers, "cache-control")?.toLowerCase();
  let ms: number | undefined;
  let source = "default";
  if (cc !== undefined) {
    if (/(^|[,\s])no-store([,\s]|$)/.test(cc) || /(^|[,\s])no-cache([,\s]|$)/.test(cc)) {
      ms = 0;
      source = "Cache-Control no-store/no-cache";
    } else {
      const m = /(^|[,\s])max-age\s*=\s*"?([0-9]+)"?/.exec(cc);
      if (m) {
        ms = Number(m[2]) * 1000;
        source = `Cache-Control max-age=${m[2]}`;
      }
    }
  }
  if (ms === undefined) {
    const exp = header(headers, "expires");
    if (exp !== undefined) {
      const t = Date.parse(exp);
      ms = Number.isNaN(t) ? 0 : t - now;
      source = `Expires ${exp}`;
    }
  }
  if (ms === undefined) ms = WELL_KNOWN_DEFAULT_CACHE_MS;
  return { ms: Math.min(WELL_KNOWN_MAX_CACHE_MS, Math.max(WELL_KNOWN_MIN_CACHE_MS, ms)), source };
}

/** Step 5 for errors: back-off after `failures` consecutive failures (1-based). */
export function errorCacheMs(failures: number): number {
  return Math.min(WELL_KNOWN_ERROR_MAX_MS, WELL_KNOWN_ERROR_FIRST_MS * 2 ** Math.max(0, failures - 1));
}

/** Step 4: the body as the schema wants it. */
export function parseWellKnownBody(body: Uint8Array, trace: Trace): WellKnownResult {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    const reason = `the body is not JSON (${(e as Error).message})`;
    trace.step({ check: "well-known.json", ok: false, detail: reason, fix: 'Serve a JSON object such as {"m.server": "matrix.example.org:443"}.' });
    return { ok: false, reason };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const reason = "the body is JSON but not an object";
    trace.step({ check: "well-known.json", ok: false, detail: reason, fix: 'Serve a JSON object such as {"m.server": "matrix.example.org:443"}.' });
    return { ok: false, reason };
  }
  trace.step({ check: "well-known.json", ok: true, detail: "the body is a JSON object" });
  const obj = json as Record<string, unknown>;
  const m = obj["m.server"];
  if (m === undefined) {
    if ("m.homeserver" in obj) {
      const reason = 'the body has "m.homeserver" (the client well-known) instead of "m.server"';
      trace.step({
        check: "well-known.client-pasted", ok: false, detail: reason,
        fix: 'Move this to /.well-known/matrix/client and serve {"m.server": "<federation host>:<port>"} here.',
      });
      return { ok: false, reason };
    }
    const reason = 'the body has no "m.server" property';
    trace.step({ check: "well-known.m-server", ok: false, detail: reason, fix: 'Add "m.server": "<host>[:<port>]".' });
    return { ok: false, reason };
  }
  if (typeof m !== "string") {
    const reason = '"m.server" is not a string';
    trace.step({ check: "well-known.m-server", ok: false, detail: reason, fix: 'Set "m.server" to a string such as "matrix.example.org:443".' });
    return { ok: false, reason };
  }
  const parsed = checkServerName(m);
  if (!parsed.ok) {
    const reason = `"m.server" ${JSON.stringify(m)} is not a valid server name: ${parsed.reason}`;
    trace.step({
      check: "well-known.m-server", ok: false, detail: reason,
      fix: 'Set "m.server" to host[:port], without "https://" or a path.',
    });
    return { ok: false, reason };
  }
  trace.step({ check: "well-known.m-server", ok: true, detail: `"m.server" is ${JSON.stringify(m)}`, data: { "m.server": m } });
  return { ok: true, mServer: m, delegated: parsed.value };
}

export interface WellKnownLookup {
  readonly result: WellKnownResult;
  readonly fromCache: boolean;
  readonly expiresAt: number;
}

/** The well-known client with its cache (one per server process). */
export class WellKnownResolver {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly get: WellKnownGet,
    private readonly clock: Clock,
    private readonly opts: { port?: number; timeoutMs?: number; maxEntries?: number } = {},
  ) {}

  /** Drops every cached answer (tests, and `zion debug resolve --no-cache`). */
  clear(): void {
    this.cache.clear();
  }

  async lookup(hostname: string, trace: Trace, opts: { noCache?: boolean } = {}): Promise<WellKnownLookup> {
    const key = hostname.toLowerCase();
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now && !opts.noCache) {
      trace.step({
        check: "well-known.cache", ok: true,
        detail: `cached ${cached.result.ok ? `"m.server" ${JSON.stringify(cached.result.mServer)}` : `failure (${cached.result.reason})`} until ${new Date(cached.expiresAt).toISOString()}`,
        data: { expiresAt: cached.expiresAt, failures: cached.failures },
      });
      return { result: cached.result, fromCache: true, expiresAt: cached.expiresAt };
    }
    const fetched = await this.fetch(hostname, trace);
    const failures = fetched.result.ok ? 0 : (cached?.failures ?? 0) + 1;
    const ttl = fetched.result.ok ? fetched.cacheMs : errorCacheMs(failures);
    const expiresAt = this.clock.now() + ttl;
    if (this.cache.size >= (this.opts.maxEntries ?? 50_000)) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.delete(key);
    this.cache.set(key, { result: fetched.result, expiresAt, failures });
    trace.step({
      check: "well-known.cache", ok: true,
      detail: fetched.result.ok
        ? `cached for ${Math.round(ttl / 1000)} s (${fetched.cacheSource})`
        : `failure cached for ${Math.round(ttl / 1000)} s (consecutive failure ${failures}; back-off doubles up to 1 h)`,
      data: { expiresAt, failures },
    });
    return { result: fetched.result, fromCache: false, expiresAt };
  }

  /** Steps 1-4. */
  private async fetch(hostname: string, trace: Trace): Promise<{ result: WellKnownResult; cacheMs: number; cacheSource: string }> {
    const port = this.opts.port ?? 443;
    let url = new URL(`https://${hostname.includes(":") ? `[${hostname}]` : hostname}${port === 443 ? "" : `:${port}`}/.well-known/matrix/server`);
    const seen = new Set<string>();
    const fail = (reason: string, check = "well-known.fetch", fix?: string) => {
      trace.step({
        check, ok: false, detail: reason,
        fix: fix ?? `Serve https://${hostname}/.well-known/matrix/server with status 200 and {"m.server": "<host>[:<port>]"}, or rely on SRV records or port 8448.`,
      });
      return { result: { ok: false as const, reason }, cacheMs: 0, cacheSource: "error" };
    };
    for (let hop = 0; ; hop++) {
      seen.add(url.href);
      let res: WellKnownResponse;
      try {
        res = await this.get(url, { timeoutMs: this.opts.timeoutMs ?? WELL_KNOWN_TIMEOUT_MS, maxBytes: WELL_KNOWN_MAX_BYTES, trace });
      } catch (e) {
        return fail(`GET ${url.href} failed: ${(e as Error).message}`);
      }
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        const loc = header(res.headers, "location");
        if (!loc) return fail(`GET ${url.href} answered ${res.status} without a Location header`, "well-known.redirects");
        let next: URL;
        try {
          next = new URL(loc, url);
        } catch {
          return fail(`GET ${url.href} redirects to an invalid URL ${JSON.stringify(loc)}`, "well-known.redirects");
        }
        if (next.protocol !== "https:") return fail(`GET ${url.href} redirects to ${next.href}, which is not https`, "well-known.redirects");
        if (seen.has(next.href)) return fail(`redirect loop: ${next.href} was already visited`, "well-known.redirects", "Remove the redirect loop.");
        if (hop + 1 > WELL_KNOWN_MAX_REDIRECTS) {
          return fail(`more than ${WELL_KNOWN_MAX_REDIRECTS} redirects`, "well-known.redirects", "Serve the file directly or with fewer redirects.");
        }
        trace.step({ check: "well-known.redirects", ok: true, warn: true, detail: `${url.href} redirects (${res.status}) to ${next.href}` });
        url = next;
        continue;
      }
      if (res.status !== 200) return fail(`GET ${url.href} answered ${res.status}, not 200`);
      trace.step({ check: "well-known.fetch", ok: true, detail: `GET ${url.href} answered 200 (${res.body.length} bytes)` });
      const ct = header(res.headers, "content-type");
      if (!ct || !/^application\/json\b/i.test(ct.trim())) {
        trace.step({
          check: "well-known.content-type", ok: true, warn: true,
          detail: `Content-Type is ${ct ? JSON.stringify(ct) : "missing"}, not application/json (accepted, but some servers are stricter)`,
        });
      } else {
        trace.step({ check: "well-known.content-type", ok: true, detail: `Content-Type is ${ct}` });
      }
      const result = parseWellKnownBody(res.body, trace);
      if (!result.ok) return { result, cacheMs: 0, cacheSource: "error" };
      const period = cachePeriodMs(res.headers, this.clock.now());
      return { result, cacheMs: period.ms, cacheSource: period.source };
    }
  }
}
