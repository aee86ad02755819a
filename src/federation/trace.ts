/**
 * The trace sink (STYLE C12). Discovery, TLS, keys and transport report every step they take here; production
 * passes `NO_TRACE`, `zion debug resolve` prints the steps, and the federation tester turns them into checks.
 *
 * `check` names follow the tester's catalogue (src/tester/catalogue.ts) where one fits: "name.valid",
 * "well-known.fetch", "well-known.redirects", "well-known.content-type", "well-known.json", "well-known.m-server",
 * "well-known.client-pasted", "well-known.cache", "srv.matrix-fed", "srv.matrix", "srv.cname", "srv.ignored",
 * "resolution.target", "dns.host", "dns.addresses", "conn.tcp", "tls.handshake", "tls.chain", "tls.name",
 * "tls.expiry", "keys.fetch", "keys.server-name", "keys.valid-until", "keys.signature", "policy.whitelist",
 * "policy.ip-ranges".
 */
export interface TraceStep {
  /** The check this step informs, e.g. "srv.matrix-fed". */
  readonly check: string;
  /** False when this step failed (or refused something). */
  readonly ok: boolean;
  /** True for a step that succeeded but deserves an operator's attention (e.g. a deprecated record). */
  readonly warn?: boolean;
  /** One sentence saying what was seen. */
  readonly detail?: string;
  /** What an operator should do about a failure or warning. */
  readonly fix?: string;
  /** "ip:port" for per-address steps. */
  readonly address?: string;
  /** Structured facts (records, headers, cache expiry) for JSON renderers. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface Trace {
  step(s: TraceStep): void;
}

export const NO_TRACE: Trace = { step() {} };

/** A trace that keeps every step, for tests, the debug command and the tester. */
export class RecordingTrace implements Trace {
  readonly steps: TraceStep[] = [];
  step(s: TraceStep): void {
    this.steps.push(s);
  }
}
