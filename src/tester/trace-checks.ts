/**
 * Turns the steps that discovery, TLS and keys code report through its trace
 * (STYLE C12) into checks: steps about the same check and address merge into
 * one check whose status is the worst step's, whose detail lists what was seen,
 * and whose fix is the worst step's fix (or the catalogue's).
 */
import type { Trace, TraceStep } from "../federation/trace.js";
import { makeCheck, type Check, type CheckStatus } from "./report.js";

export function stepStatus(s: TraceStep): Exclude<CheckStatus, "skip"> {
  return !s.ok ? "fail" : s.warn ? "warn" : "ok";
}

const RANK: Record<CheckStatus, number> = { ok: 0, skip: 1, warn: 2, fail: 3 };

export function worse(a: CheckStatus, b: CheckStatus): CheckStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

/** A trace that keeps every step and tells a listener (the progress line) as they arrive. */
export class CollectingTrace implements Trace {
  readonly steps: TraceStep[] = [];
  constructor(private readonly onStep?: (s: TraceStep) => void) {}
  step(s: TraceStep): void {
    this.steps.push(s);
    this.onStep?.(s);
  }
}

export interface StepGroup {
  readonly check: string;
  readonly address: string | undefined;
  readonly steps: TraceStep[];
}

export function groupSteps(steps: readonly TraceStep[]): StepGroup[] {
  const groups = new Map<string, StepGroup>();
  for (const s of steps) {
    const key = `${s.check}|${s.address ?? ""}`;
    let g = groups.get(key);
    if (!g) {
      g = { check: s.check, address: s.address, steps: [] };
      groups.set(key, g);
    }
    g.steps.push(s);
  }
  return [...groups.values()];
}

export interface GroupOptions {
  /** Caps the status (e.g. "warn" for a step whose failure the resolution recovered from). */
  readonly cap?: CheckStatus;
  readonly title?: string;
  readonly fix?: string;
}

export function groupToCheck(g: StepGroup, opts: GroupOptions = {}): Check {
  let status: Exclude<CheckStatus, "skip"> = "ok";
  for (const s of g.steps) status = worse(status, stepStatus(s)) as Exclude<CheckStatus, "skip">;
  if (opts.cap && opts.cap !== "skip" && RANK[status] > RANK[opts.cap]) status = opts.cap;
  const details = [...new Set(g.steps.map((s) => s.detail).filter((d): d is string => typeof d === "string" && d.length > 0))];
  const worst = g.steps.find((s) => stepStatus(s) !== "ok" && s.fix) ?? g.steps.find((s) => s.fix);
  const fix = opts.fix ?? worst?.fix;
  return makeCheck(g.check, status, details.join("; ") || (status === "ok" ? "ok" : "see fix"), {
    ...(g.address !== undefined ? { address: g.address } : {}),
    ...(fix !== undefined && status !== "ok" ? { fix } : {}),
    ...(opts.title !== undefined ? { title: opts.title } : {}),
  });
}

/** The `data` of the last step of a check that carried some. */
export function lastData(steps: readonly TraceStep[], check: string): Readonly<Record<string, unknown>> | undefined {
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.check === check && steps[i]!.data) return steps[i]!.data;
  return undefined;
}
