/**
 * The report for people: one line per check (✓ ok, ⚠ warning, ✗ failure,
 * – not run because of a failure above), the fix in plain words under every
 * warning and failure, a verdict line.
 * Colour only when writing to a terminal; a progress line on a terminal
 * while the checks run.
 */
import { plural, type Check, type CheckStatus, type Report } from "./report.js";
import { SYMBOL as SHARED_SYMBOL } from "./symbols.js";

const SYMBOL: Record<CheckStatus, string> = SHARED_SYMBOL;
const COLOUR: Record<CheckStatus, string> = { ok: "\x1b[32m", warn: "\x1b[33m", fail: "\x1b[31m", skip: "\x1b[2m" };
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";

export interface HumanOptions {
  /** Use ANSI colours (only when the output is a terminal). */
  readonly colour: boolean;
  /** What the verdict line is about (default "Federation"; the doctor under --no-remote says "Local setup"). */
  readonly subject?: string;
}

export function renderCheckLine(c: Check, opts: HumanOptions): string {
  const sym = opts.colour ? `${COLOUR[c.status]}${SYMBOL[c.status]}${RESET}` : SYMBOL[c.status];
  const lines = [`${sym} ${c.title}: ${c.detail}`];
  if (c.fix !== undefined && (c.status === "warn" || c.status === "fail")) {
    const fix = `fix: ${c.fix}`;
    lines.push(`    ${opts.colour ? `${DIM}${fix}${RESET}` : fix}`);
  }
  return lines.join("\n");
}

export function renderHuman(report: Report, opts: HumanOptions): string {
  const head = report.kind === "doctor" ? `Zion doctor for ${report.serverName}` : `Federation test for ${report.serverName}`;
  const out = [opts.colour ? `${BOLD}${head}${RESET}` : head];
  for (const c of report.checks) out.push(renderCheckLine(c, opts));
  out.push("");
  const verdict = verdictLine(report, opts.subject);
  out.push(opts.colour ? `${BOLD}${report.federationOK ? COLOUR.ok : COLOUR.fail}${verdict}${RESET}` : verdict);
  return `${out.join("\n")}\n`;
}

/** "Federation OK (1 warning)", "Federation NOT OK: 1 failure, 2 warnings, 3 checks not run" (or another subject). */
export function verdictLine(report: Pick<Report, "federationOK" | "checks">, subject = "Federation"): string {
  const n = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const [fails, warns, skips] = [n("fail"), n("warn"), n("skip")];
  const rest = [...(warns ? [plural(warns, "warning")] : []), ...(skips ? [`${plural(skips, "check")} not run`] : [])];
  return report.federationOK
    ? `${subject} OK${rest.length ? ` (${rest.join(", ")})` : ""}`
    : `${subject} NOT OK: ${[plural(fails, "failure"), ...rest].join(", ")}`;
}

/** A minimal writable: process.stderr or a test double. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * A progress line while checks run: on a terminal, one line rewritten in place
 * ("⠹ 7 checks done: checking TLS on 127.0.0.1:8448"); elsewhere nothing, so
 * logs and pipes stay clean. `clear()` erases it before the report prints.
 */
export class ProgressLine {
  private frame = 0;
  private done = 0;
  private shown = false;

  constructor(private readonly stream: ProgressStream) {}

  private get active(): boolean {
    return this.stream.isTTY === true;
  }

  starting(what: string): void {
    if (!this.active) return;
    const sym = FRAMES[this.frame++ % FRAMES.length]!;
    const line = `${sym} ${plural(this.done, "check")} done: ${what}`.slice(0, 100);
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  checked(c: Check): void {
    this.done++;
    this.starting(c.title);
  }

  clear(): void {
    if (this.active && this.shown) this.stream.write("\r\x1b[2K");
    this.shown = false;
  }
}
