/**
 * The report model shared by `zion federation-test`, `zion doctor`, the HTTP
 * API and the HTML page. A report is a list of checks (each ok, warn or fail,
 * with a plain-words fix for every warn and fail) plus the sections of
 * matrix-federation-tester's JSON report, filled from the same probes, so
 * tooling written against that report can read ours.
 */
import { checkServerName } from "../core/ids/index.js";
import { CATALOGUE, isCheckId, type CheckId } from "./catalogue.js";

/**
 * "skip": not run, because an earlier failure (named by `cause`) made it meaningless; one root cause then shows as
 * one failure. A skip never changes the verdict: the failure it points at already did.
 */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface Check {
  /** Stable identifier, from the catalogue where one fits, e.g. "well-known.content-type". */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was seen, in one sentence. */
  readonly detail: string;
  /** What to do about it, in plain words: present for every warn and fail. */
  readonly fix?: string;
  /** The "ip:port" address the check is about, for per-address checks. */
  readonly address?: string;
  /** For "skip": the title of the failed check that kept this one from running. */
  readonly cause?: string;
}

/** A Go error as matrix-federation-tester serialises it. */
export interface MftError {
  readonly Message: string;
}

export interface MftWellKnownResult {
  "m.server": string;
  result?: string;
  CacheExpiresAt: number;
}

export interface MftSrvRecord {
  Target: string;
  Port: number;
  Priority: number;
  Weight: number;
}

export interface MftHostResult {
  CName: string;
  Addrs: string[] | null;
  Error: MftError | null;
}

export interface MftDnsResult {
  SRVSkipped: boolean;
  SRVCName: string;
  SRVRecords: MftSrvRecord[] | null;
  SRVError: MftError | null;
  Hosts: Record<string, MftHostResult>;
  Addrs: string[] | null;
}

export interface MftCertSummary {
  SubjectCommonName: string;
  IssuerCommonName: string;
  /** Unpadded base64 of the SHA-256 of the DER certificate. */
  SHA256Fingerprint: string;
  DNSNames: string[] | null;
}

export interface MftEd25519Checks {
  ValidEd25519: boolean;
  MatchingSignature: boolean;
}

export interface MftConnectionChecks {
  AllChecksOK: boolean;
  MatchingServerName: boolean;
  FutureValidUntilTS: boolean;
  HasEd25519Key: boolean;
  AllEd25519ChecksOK: boolean | null;
  Ed25519Checks: Record<string, MftEd25519Checks>;
  ValidCertificates: boolean;
}

export interface MftConnectionReport {
  Certificates: MftCertSummary[];
  Cipher: { Version: string; CipherSuite: string };
  Checks: MftConnectionChecks;
  Errors: MftError[];
  Ed25519VerifyKeys: Record<string, string> | null;
  Info: Record<string, never>;
  Keys: unknown;
}

export interface MftVersion {
  name?: string;
  version?: string;
  error?: string;
}

/** The matrix-federation-tester sections, with their meanings. */
export interface MftSections {
  /** An error that stopped the test before any connection (e.g. invalid server name). */
  Error?: string;
  WellKnownResult: MftWellKnownResult;
  DNSResult: MftDnsResult;
  ConnectionReports: Record<string, MftConnectionReport>;
  ConnectionErrors: Record<string, MftError>;
  Version: MftVersion;
}

/** One certificate an address served, with what a person checks first (the page shows these per address). */
export interface CertificateDetail {
  readonly Subject: string;
  readonly Issuer: string;
  /** subjectAltName entries, e.g. "DNS:matrix.example.org", "IP Address:192.0.2.1". */
  readonly SubjectAltNames: string[];
  /** SHA-256 of the DER certificate, hex bytes separated by colons (as openssl prints it). */
  readonly SHA256: string;
  readonly NotBefore: string;
  readonly NotAfter: string;
}

export type ReportKind = "federation-test" | "doctor";

export interface Report {
  readonly kind: ReportKind;
  readonly serverName: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly checks: readonly Check[];
  /** True when no check failed (warnings do not block federation). */
  readonly federationOK: boolean;
  readonly mft: MftSections;
  /** The certificates each address served (leaf first), from the look-only TLS connection. */
  readonly certificates: Readonly<Record<string, readonly CertificateDetail[]>>;
}

export function emptyMftSections(): MftSections {
  return {
    WellKnownResult: { "m.server": "", CacheExpiresAt: 0 },
    DNSResult: { SRVSkipped: false, SRVCName: "", SRVRecords: null, SRVError: null, Hosts: {}, Addrs: null },
    ConnectionReports: {},
    ConnectionErrors: {},
    Version: {},
  };
}

export interface CheckOptions {
  readonly fix?: string;
  readonly address?: string;
  /** Overrides the catalogue title (e.g. to name the address). */
  readonly title?: string;
}

/** Builds a check from the catalogue; a warn or fail always carries a fix (the catalogue's if none is given). */
export function makeCheck(id: CheckId | string, status: Exclude<CheckStatus, "skip">, detail: string, opts: CheckOptions = {}): Check {
  const entry = isCheckId(id) ? CATALOGUE[id] : { title: id, fix: "See docs/federation-tester.md for this check." };
  const title = opts.title ?? (opts.address ? `${entry.title} (${opts.address})` : entry.title);
  const base = { id, title, status, detail, ...(opts.address !== undefined ? { address: opts.address } : {}) };
  if (status === "ok") return base;
  return { ...base, fix: opts.fix ?? entry.fix };
}

/**
 * A check that did not run because `cause` failed first: its detail says so and names the failure, and it points
 * at the failure's fix instead of offering one of its own (one root cause, one fix).
 */
export function skippedCheck(id: CheckId | string, cause: Check, what?: string, opts: Pick<CheckOptions, "address" | "title"> = {}): Check {
  const entry = isCheckId(id) ? CATALOGUE[id] : { title: id };
  const title = opts.title ?? (opts.address ? `${entry.title} (${opts.address})` : entry.title);
  const detail = `not run because of "${cause.title}" (failed above)${what ? `: ${what}` : ""}`;
  return { id, title, status: "skip", detail, ...(opts.address !== undefined ? { address: opts.address } : {}), cause: cause.title };
}

/** "1 warning", "2 warnings". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The report's `Error` for a name that is not a server name (matrix-federation-tester's wording). */
export function invalidServerNameError(serverName: string): string {
  return `Invalid server name '${serverName}'`;
}

/** Collects checks as they are made and tells a listener (the progress line) about each one. */
export class ReportBuilder {
  readonly checks: Check[] = [];
  readonly mft: MftSections = emptyMftSections();
  readonly certificates: Record<string, readonly CertificateDetail[]> = {};
  private readonly listeners: Array<(c: Check) => void> = [];
  private readonly startListeners: Array<(title: string) => void> = [];

  constructor(readonly kind: ReportKind, readonly serverName: string, readonly startedAt: number) {}

  onCheck(fn: (c: Check) => void): void {
    this.listeners.push(fn);
  }

  onStart(fn: (title: string) => void): void {
    this.startListeners.push(fn);
  }

  /** Announces work about to start (for the progress line). */
  starting(title: string): void {
    for (const fn of this.startListeners) fn(title);
  }

  add(check: Check): Check {
    // Catalogue fixes say "<server_name>" where the name belongs and "<host>" where only its host part does (the
    // well-known files live on port 443 of the host, whatever port the name carries): say the real ones.
    if (check.fix?.includes("<server_name>") || check.fix?.includes("<host>")) {
      check = { ...check, fix: check.fix.replaceAll("<server_name>", this.serverName).replaceAll("<host>", hostOf(this.serverName)) };
    }
    this.checks.push(check);
    for (const fn of this.listeners) fn(check);
    return check;
  }

  ok(id: CheckId | string, detail: string, opts: CheckOptions = {}): Check {
    return this.add(makeCheck(id, "ok", detail, opts));
  }

  warn(id: CheckId | string, detail: string, opts: CheckOptions = {}): Check {
    return this.add(makeCheck(id, "warn", detail, opts));
  }

  fail(id: CheckId | string, detail: string, opts: CheckOptions = {}): Check {
    return this.add(makeCheck(id, "fail", detail, opts));
  }

  skip(id: CheckId | string, cause: Check, what?: string, opts: Pick<CheckOptions, "address" | "title"> = {}): Check {
    return this.add(skippedCheck(id, cause, what, opts));
  }

  finish(finishedAt: number): Report {
    return {
      kind: this.kind,
      serverName: this.serverName,
      startedAt: this.startedAt,
      finishedAt,
      checks: [...this.checks],
      federationOK: federationOk(this.checks),
      mft: this.mft,
      certificates: this.certificates,
    };
  }
}

export function federationOk(checks: readonly Check[]): boolean {
  return checks.length > 0 && checks.every((c) => c.status !== "fail");
}

/** Exit codes of `zion federation-test` and `zion doctor`. */
export const EXIT_OK = 0;
export const EXIT_NOT_OK = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(report: Pick<Report, "federationOK">): number {
  return report.federationOK ? EXIT_OK : EXIT_NOT_OK;
}

/** The host part of a server name (IPv6 in brackets), or the name itself when it does not parse. */
function hostOf(serverName: string): string {
  const r = checkServerName(serverName);
  if (!r.ok) return serverName;
  return r.value.kind === "ipv6" ? `[${r.value.host}]` : r.value.host;
}
