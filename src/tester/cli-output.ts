/**
 * What `zion federation-test` and `zion doctor` share: the progress line on a
 * terminal while checks run, then the report (human or --json) on stdout, and
 * the exit code (0 federation OK, 1 not OK, 2 usage error).
 */
import { writeFileSync } from "node:fs";
import { renderReportPage } from "./html-page.js";
import { EXIT_USAGE, exitCodeFor, type Check, type Report } from "./report.js";
import { ProgressLine, renderHuman, type ProgressStream } from "./render-human.js";
import { renderJson, toJsonReport } from "./render-json.js";

export interface OutputFlags {
  readonly json?: boolean;
  /** Also write the HTML page with this report embedded. */
  readonly html?: string;
  /** --no-color */
  readonly color?: boolean;
}

export interface Streams {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

export function progressFor(streams: Streams, flags: OutputFlags): { line: ProgressLine; onStart: (w: string) => void; onCheck: (c: Check) => void } {
  // Only a human report on a terminal gets the progress line (never in --json, never in pipes).
  const line = new ProgressLine(flags.json ? { write: () => true, isTTY: false } : streams.stderr);
  return { line, onStart: (w) => line.starting(w), onCheck: (c) => line.checked(c) };
}

/** `subject` names what the human verdict line is about (default "Federation"). */
export function printReport(report: Report, streams: Streams, flags: OutputFlags, line?: ProgressLine, subject?: string): number {
  line?.clear();
  if (flags.json) streams.stdout.write(renderJson(report));
  else {
    const colour = flags.color !== false && streams.stdout.isTTY === true && !process.env["NO_COLOR"];
    streams.stdout.write(renderHuman(report, { colour, ...(subject !== undefined ? { subject } : {}) }));
  }
  if (flags.html) writeFileSync(flags.html, renderReportPage({ report: toJsonReport(report) }));
  return exitCodeFor(report);
}

export function usageError(streams: Streams, message: string): number {
  streams.stderr.write(`zion: ${message.replace(/\n/g, " ")}\n`);
  return EXIT_USAGE;
}
