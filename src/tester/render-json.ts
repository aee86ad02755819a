/**
 * The `--json` report: matrix-federation-tester's top-level fields with their
 * meanings (`WellKnownResult`, `DNSResult`, `ConnectionReports`,
 * `ConnectionErrors`, `Version`, `FederationOK`, and `Error` when the test
 * stopped early), so tooling written for it can read ours, plus one `Zion`
 * section with every check, its status and its fix, and each address's certificates.
 */
import type { CertificateDetail, Check, Report } from "./report.js";

export interface ZionSection {
  readonly Kind: Report["kind"];
  readonly ServerName: string;
  readonly StartedAt: number;
  readonly FinishedAt: number;
  readonly Summary: { readonly ok: number; readonly warn: number; readonly fail: number; readonly skip: number };
  readonly Checks: readonly Check[];
  /** Per address, the certificates it served (leaf first), with expiry and SHA-256. */
  readonly Certificates: Readonly<Record<string, readonly CertificateDetail[]>>;
}

export interface JsonReport {
  readonly Error?: string;
  readonly WellKnownResult: Report["mft"]["WellKnownResult"];
  readonly DNSResult: Report["mft"]["DNSResult"];
  readonly ConnectionReports: Report["mft"]["ConnectionReports"];
  readonly ConnectionErrors: Report["mft"]["ConnectionErrors"];
  readonly Version: Report["mft"]["Version"];
  readonly FederationOK: boolean;
  readonly Zion: ZionSection;
}

export function toJsonReport(report: Report): JsonReport {
  const count = (s: Check["status"]) => report.checks.filter((c) => c.status === s).length;
  return {
    ...(report.mft.Error !== undefined ? { Error: report.mft.Error } : {}),
    WellKnownResult: report.mft.WellKnownResult,
    DNSResult: report.mft.DNSResult,
    ConnectionReports: report.mft.ConnectionReports,
    ConnectionErrors: report.mft.ConnectionErrors,
    Version: report.mft.Version,
    FederationOK: report.federationOK,
    Zion: {
      Kind: report.kind,
      ServerName: report.serverName,
      StartedAt: report.startedAt,
      FinishedAt: report.finishedAt,
      Summary: { ok: count("ok"), warn: count("warn"), fail: count("fail"), skip: count("skip") },
      Checks: report.checks,
      Certificates: report.certificates,
    },
  };
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(toJsonReport(report), null, 2)}\n`;
}
