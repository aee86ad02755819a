/**
 * The tester's HTTP API, free of any HTTP framework so that routes in api/
 * or app/ only adapt it:
 *
 *   GET /api/report?server_name=X       the JSON report (matrix-federation-tester's fields + Zion)
 *   GET /api/federation-ok?server_name=X  "GOOD" or "BAD", text/plain
 *   GET /                                 the HTML page that renders reports
 *
 * Enabled by `federation_tester.enabled` in homeserver.yaml. Each client
 * address may start a limited number of tests per window (a test makes
 * outbound connections, so an open tester must not become an amplifier);
 * identical requests within a few seconds share one run.
 */
import type { Clock } from "../core/clock.js";
import { checkServerName } from "../core/ids/index.js";
import { renderReportPage } from "./html-page.js";
import { invalidServerNameError, ReportBuilder, type Report } from "./report.js";
import { toJsonReport } from "./render-json.js";

export interface TesterResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface TesterApiOptions {
  /** Runs one federation test (the app builds it with the server's resolver and configuration). */
  readonly run: (serverName: string) => Promise<Report>;
  readonly clock: Pick<Clock, "now">;
  /** Tests each client address may start per window (default 10). */
  readonly maxPerWindow?: number;
  /** Window length in ms (default 60 s). */
  readonly windowMs?: number;
  /** How long a finished report is reused for the same server name, in ms (default 10 s). */
  readonly cacheMs?: number;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, OPTIONS",
  "access-control-allow-headers": "Origin, X-Requested-With, Content-Type, Accept",
};

/** A fixed-window counter per client address. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  /**
   * `maxKeys` bounds the memory an address-changing client can make us hold: past it, expired windows go first,
   * then the oldest ones (that client's budget restarts, which costs a test, not memory).
   */
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly clock: Pick<Clock, "now">,
    private readonly maxKeys = 10_000,
  ) {}

  /** Returns 0 when allowed, else the ms until the client may try again. */
  take(key: string): number {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      // Re-inserted so that the map's order stays oldest window first.
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > this.maxKeys) this.prune(now);
    }
    if (w.count >= this.max) return w.start + this.windowMs - now;
    w.count++;
    return 0;
  }

  /** How many client windows are held (for tests and the bound above). */
  get size(): number {
    return this.windows.size;
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
    for (const k of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys) break;
      this.windows.delete(k);
    }
  }
}

function json(status: number, value: unknown, extra: Record<string, string> = {}): TesterResponse {
  return { status, headers: { ...CORS, "content-type": "application/json", ...extra }, body: `${JSON.stringify(value, null, 2)}\n` };
}

export class TesterApi {
  private readonly limiter: RateLimiter;
  private readonly inflight = new Map<string, { at: number; report: Promise<Report> }>();
  private readonly cacheMs: number;

  constructor(private readonly opts: TesterApiOptions) {
    this.limiter = new RateLimiter(opts.maxPerWindow ?? 10, opts.windowMs ?? 60_000, opts.clock);
    this.cacheMs = opts.cacheMs ?? 10_000;
  }

  private async runFor(query: Readonly<Record<string, unknown>>, client: string): Promise<{ report: Report } | { error: TesterResponse }> {
    const raw = query["server_name"];
    if (typeof raw !== "string" || raw.length === 0) {
      return { error: json(400, { errcode: "M_MISSING_PARAM", error: "server_name query parameter is required" }) };
    }
    const now = this.opts.clock.now();
    const name = checkServerName(raw);
    if (!name.ok) {
      // As matrix-federation-tester answers: a report that says why (Error, FederationOK false), not an HTTP error;
      // it costs no outbound connection, so it does not count against the client's tests.
      const b = new ReportBuilder("federation-test", raw, now);
      b.fail("name.valid", `${JSON.stringify(raw)} is not a server name: ${name.reason}`);
      b.mft.Error = invalidServerNameError(raw);
      return { report: b.finish(now) };
    }
    const cached = this.inflight.get(raw);
    if (cached && now - cached.at < this.cacheMs) return { report: await cached.report };
    const wait = this.limiter.take(client);
    if (wait > 0) {
      return {
        error: json(429, { errcode: "M_LIMIT_EXCEEDED", error: "too many federation tests from this address", retry_after_ms: wait }, {
          "retry-after": String(Math.ceil(wait / 1000)),
        }),
      };
    }
    const report = this.opts.run(raw);
    this.inflight.set(raw, { at: now, report });
    for (const [k, v] of this.inflight) if (now - v.at >= this.cacheMs) this.inflight.delete(k);
    try {
      return { report: await report };
    } catch (err) {
      this.inflight.delete(raw);
      return { error: json(500, { errcode: "M_UNKNOWN", error: `the test could not run: ${(err as Error).message}` }) };
    }
  }

  /** GET /api/report?server_name= */
  async report(query: Readonly<Record<string, unknown>>, client: string): Promise<TesterResponse> {
    const r = await this.runFor(query, client);
    if ("error" in r) return r.error;
    return json(200, toJsonReport(r.report));
  }

  /** GET /api/federation-ok?server_name= */
  async federationOk(query: Readonly<Record<string, unknown>>, client: string): Promise<TesterResponse> {
    const r = await this.runFor(query, client);
    if ("error" in r) return r.error;
    return { status: 200, headers: { ...CORS, "content-type": "text/plain; charset=utf-8" }, body: r.report.federationOK ? "GOOD" : "BAD" };
  }

  /** GET / (the page; it fetches api/report relative to itself). */
  page(): TesterResponse {
    return {
      status: 200,
      headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'" },
      body: renderReportPage({ apiPath: "api/report" }),
    };
  }
}
