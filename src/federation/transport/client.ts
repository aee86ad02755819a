/**
 * Outbound federation requests: one typed method per endpoint Zion needs, over server-name resolution
 * (discovery/), checked TLS (tls/) and X-Matrix signing (x-matrix.ts).
 *
 * For every request:
 * 1. federation_enabled must be true, and the destination must be in federation_domain_whitelist when one is set.
 * 2. Resolve the destination (cached); the Host header and certificate name come from the resolution.
 * 3. Sign with our key (except the key endpoints, which are unauthenticated): the uri signed is the exact path and
 *    query sent, the destination the server name before delegation.
 * 4. Send to the resolved addresses in order; parse the JSON answer with the strict parser (core/json: the
 *    response size cap, nesting depth, valid UTF-8 and Unicode; numbers as any JSON allows, since events of room
 *    versions 1-5 may carry floats and the caller judges them by room version); non-2xx becomes a FederationError
 *    carrying the status and the remote errcode.
 */
import type { SigningKey } from "../../core/crypto/index.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import { parseJsonStrict } from "../../core/json/parse.js";
import type { JsonValue } from "../../core/json/types.js";
import { noMetrics, type Counter, type Metrics } from "../../core/metrics.js";
import type { ServerResolver } from "../discovery/resolve.js";
import type { HttpsClient } from "../tls/https-client.js";
import { HttpsRequestError } from "../tls/https-client.js";
import { NO_TRACE, type Trace } from "../trace.js";
import type { KeyFetchClient } from "../keys/key-ring.js";
import { signRequest } from "./x-matrix.js";

export type FederationErrorKind = "disabled" | "not-whitelisted" | "resolve" | "connect" | "timeout" | "too-large" | "http" | "bad-response";

export class FederationError extends Error {
  constructor(
    readonly kind: FederationErrorKind,
    readonly destination: string,
    message: string,
    readonly status?: number,
    readonly errcode?: string,
  ) {
    super(message);
    this.name = "FederationError";
  }
}

export interface FederationClientOptions {
  readonly serverName: ServerName;
  readonly signingKey: SigningKey;
  readonly resolver: ServerResolver;
  readonly https: HttpsClient;
  readonly federationEnabled?: boolean;
  /** federation_domain_whitelist: absent means every server. */
  readonly domainWhitelist?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** Counts requests sent and responses by status (Synapse's synapse_http_matrixfederationclient_* names). */
  readonly metrics?: Metrics;
}

/** The response cap when neither the request nor the client sets one (the HTTPS client's own default). */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface FederationRequest {
  readonly destination: ServerName | string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path without query, starting with "/_matrix/"; parameters already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** A query string sent exactly as given (without '?'), instead of `query`. */
  readonly rawQuery?: string;
  readonly body?: JsonValue;
  /** Sign with X-Matrix (default true). */
  readonly signed?: boolean;
  readonly trace?: Trace;
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

export interface FederationResponse {
  readonly status: number;
  readonly body: unknown;
  /** "ip:port" that answered. */
  readonly address: string;
}

export class FederationClient implements KeyFetchClient {
  private readonly whitelist: ReadonlySet<string> | undefined;
  private readonly sent: Counter<"method">;
  private readonly answered: Counter<"method" | "code">;
  private readonly failed: Counter<"method" | "kind">;

  constructor(private readonly opts: FederationClientOptions) {
    const m = opts.metrics ?? noMetrics;
    this.sent = m.counter({ name: "synapse_http_matrixfederationclient_requests", help: "Outbound federation requests sent, by method", labels: ["method"] });
    this.answered = m.counter({ name: "synapse_http_matrixfederationclient_responses", help: "Outbound federation responses received, by method and status code", labels: ["method", "code"] });
    this.failed = m.counter({ name: "zion_federation_client_failures", help: "Outbound federation requests that got no answer, by method and reason", labels: ["method", "kind"] });
    this.whitelist = opts.domainWhitelist ? new Set(opts.domainWhitelist.map((d) => d.toLowerCase())) : undefined;
  }

  get serverName(): ServerName {
    return this.opts.serverName;
  }

  /** Step 1 alone, for callers that want to know before queueing work. */
  mayContact(destination: string): { ok: true } | { ok: false; reason: string } {
    if (this.opts.federationEnabled === false) return { ok: false, reason: "federation is disabled (federation_enabled: false)" };
    if (this.whitelist && !this.whitelist.has(destination.toLowerCase())) {
      return { ok: false, reason: `${destination} is not in federation_domain_whitelist` };
    }
    return { ok: true };
  }

  async request(r: FederationRequest): Promise<FederationResponse> {
    const dest = r.destination;
    const trace = r.trace ?? NO_TRACE;
    // Step 1.
    const may = this.mayContact(dest);
    if (!may.ok) {
      trace.step({ check: "policy.whitelist", ok: false, detail: may.reason, fix: "Add the server name to federation_domain_whitelist, or remove the whitelist." });
      throw new FederationError(this.opts.federationEnabled === false ? "disabled" : "not-whitelisted", dest, may.reason);
    }
    // Step 2.
    const res = await this.opts.resolver.resolve(dest, r.trace ? { trace } : {});
    if (!res.ok) this.failed.inc({ method: r.method, kind: "resolve" });
    if (!res.ok) throw new FederationError("resolve", dest, `cannot resolve ${dest}: ${res.reason}`);
    const target = res.resolution;
    // Step 3.
    const qs = r.rawQuery !== undefined ? (r.rawQuery ? `?${r.rawQuery}` : "") : r.query ? queryString(r.query) : "";
    const uri = `${r.path}${qs}`;
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "Zion" };
    let body: string | undefined;
    if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers["content-type"] = "application/json";
    }
    if (r.signed !== false) {
      headers["authorization"] = signRequest(
        { method: r.method, uri, origin: this.opts.serverName, destination: dest, ...(r.body !== undefined ? { content: r.body } : {}) },
        this.opts.signingKey,
      );
    }
    // Step 4.
    let out;
    this.sent.inc({ method: r.method });
    try {
      out = await this.opts.https.request({
        targets: target.targets, tlsName: target.tlsName, hostHeader: target.hostHeader, method: r.method, path: uri, headers,
        ...(body !== undefined ? { body } : {}),
        ...(r.timeoutMs ?? this.opts.timeoutMs ? { timeoutMs: (r.timeoutMs ?? this.opts.timeoutMs)! } : {}),
        ...(r.maxResponseBytes ?? this.opts.maxResponseBytes ? { maxResponseBytes: (r.maxResponseBytes ?? this.opts.maxResponseBytes)! } : {}),
        ...(r.trace ? { trace } : {}),
      });
    } catch (e) {
      if (e instanceof HttpsRequestError) {
        const kind = e.kind === "protocol" ? "connect" : e.kind;
        this.failed.inc({ method: r.method, kind });
        throw new FederationError(kind, dest, `${r.method} ${r.path} to ${dest}: ${e.message}`);
      }
      this.failed.inc({ method: r.method, kind: "other" });
      throw e;
    }
    this.answered.inc({ method: r.method, code: out.status });
    let parsed: unknown;
    try {
      const maxBytes = r.maxResponseBytes ?? this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      parsed = out.body.length === 0 ? undefined : parseJsonStrict(out.body, { maxBytes, strictIntegers: false });
    } catch (e) {
      if (out.status >= 200 && out.status < 300) {
        throw new FederationError("bad-response", dest, `${r.method} ${r.path} to ${dest}: the answer is not acceptable JSON: ${(e as Error).message}`, out.status);
      }
    }
    if (out.status < 200 || out.status >= 300) {
      const errcode = typeof (parsed as { errcode?: unknown })?.errcode === "string" ? (parsed as { errcode: string }).errcode : undefined;
      const error = typeof (parsed as { error?: unknown })?.error === "string" ? (parsed as { error: string }).error : undefined;
      throw new FederationError("http", dest, `${r.method} ${r.path} to ${dest} answered ${out.status}${errcode ? ` ${errcode}` : ""}${error ? `: ${error}` : ""}`, out.status, errcode);
    }
    return { status: out.status, body: parsed, address: out.address };
  }

  /** GET /_matrix/key/v2/server (unauthenticated). */
  async fetchServerKeys(destination: ServerName, opts: { trace?: Trace } = {}): Promise<unknown> {
    return (await this.request({ destination, method: "GET", path: "/_matrix/key/v2/server", signed: false, maxResponseBytes: 1024 * 1024, ...opts })).body;
  }

  /** POST /_matrix/key/v2/query to a notary (unauthenticated). */
  async queryKeysViaNotary(
    notary: ServerName,
    serverKeys: Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number }>>>>,
    opts: { trace?: Trace } = {},
  ): Promise<unknown> {
    return (await this.request({
      destination: notary, method: "POST", path: "/_matrix/key/v2/query", body: { server_keys: serverKeys as JsonValue }, signed: false,
      maxResponseBytes: 4 * 1024 * 1024, ...opts,
    })).body;
  }

  /** GET /_matrix/key/v2/query/{serverName} on a notary (unauthenticated). */
  async getKeysViaNotary(notary: ServerName, server: ServerName, minimumValidUntilTs?: number, opts: { trace?: Trace } = {}): Promise<unknown> {
    return (await this.request({
      destination: notary, method: "GET", path: `/_matrix/key/v2/query/${encodeURIComponent(server)}`, signed: false,
      ...(minimumValidUntilTs !== undefined ? { query: { minimum_valid_until_ts: String(minimumValidUntilTs) } } : {}),
      ...opts,
    })).body;
  }

  /** GET /_matrix/federation/v1/version (unauthenticated). */
  async getVersion(destination: ServerName, opts: { trace?: Trace } = {}): Promise<{ server?: { name?: string; version?: string } }> {
    return (await this.request({ destination, method: "GET", path: "/_matrix/federation/v1/version", signed: false, ...opts })).body as {
      server?: { name?: string; version?: string };
    };
  }

  /**
   * PUT /_matrix/federation/v1/send/{txnId} (signed): https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv1sendtxnid
   * Answers the per-PDU results (`pdus`: event id -> {} or {error}); a non-2xx answer is a FederationError.
   */
  async sendTransaction(
    destination: ServerName,
    txn: { readonly txnId: string; readonly originServerTs: number; readonly pdus: readonly JsonValue[]; readonly edus: readonly JsonValue[] },
    opts: { trace?: Trace; timeoutMs?: number } = {},
  ): Promise<{ pdus: Record<string, { error?: string }> }> {
    const body: JsonValue = { origin: this.opts.serverName, origin_server_ts: txn.originServerTs, pdus: [...txn.pdus], ...(txn.edus.length > 0 ? { edus: [...txn.edus] } : {}) };
    const out = await this.request({ destination, method: "PUT", path: `/_matrix/federation/v1/send/${encodeURIComponent(txn.txnId)}`, body, ...opts });
    const pdus = (out.body as { pdus?: unknown } | undefined)?.pdus;
    return { pdus: pdus !== null && typeof pdus === "object" && !Array.isArray(pdus) ? (pdus as Record<string, { error?: string }>) : {} };
  }

  /** GET /_matrix/federation/v1/query/profile (signed). */
  async queryProfile(destination: ServerName, userId: UserId, field?: "displayname" | "avatar_url", opts: { trace?: Trace } = {}): Promise<{ displayname?: string; avatar_url?: string }> {
    return (await this.request({
      destination, method: "GET", path: "/_matrix/federation/v1/query/profile",
      query: { user_id: userId, ...(field ? { field } : {}) }, ...opts,
    })).body as { displayname?: string; avatar_url?: string };
  }
}

function queryString(q: Readonly<Record<string, string | readonly string[] | undefined>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const one of typeof v === "string" ? [v] : v) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}
