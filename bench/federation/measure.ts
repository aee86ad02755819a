/**
 * What the federation benchmark reads from outside the target: CPU seconds (utime + stime) and resident memory
 * (VmRSS) summed over the target's whole process tree from /proc, sampled every 100 ms for the peak, and the
 * harness's own CPU (this process, and any helper process it names) over the same interval, to show the harness
 * was not the bottleneck. Latency percentiles are nearest-rank.
 */
import { readFileSync, readdirSync } from "node:fs";

/** Every pid in the tree under `root` (from /proc/<pid>/stat's ppid). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch { /* gone */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** utime+stime in seconds and VmRSS in bytes, summed over the tree under `root`. */
export function treeUsage(root: number): { cpuS: number; rss: number } {
  const tick = 100; // USER_HZ on Linux
  let cpuS = 0;
  let rss = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpuS += (Number(f[11]) + Number(f[12])) / tick;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) rss += Number(m[1]) * 1024;
    } catch { /* gone */ }
  }
  return { cpuS, rss };
}

export interface Usage {
  /** The target's CPU seconds over the interval. */
  readonly cpuS: number;
  /** The target's highest RSS seen (bytes). */
  readonly peakRss: number;
  /** The harness's CPU seconds over the interval (this process and its helpers). */
  readonly harnessCpuS: number;
}

/** Starts measuring the target's tree under `pid`; `stop()` returns the interval's usage. */
export function meter(pid: number): { stop(helpers?: readonly number[]): Usage; helperBaseline(pid: number): void } {
  const before = treeUsage(pid);
  let peak = before.rss;
  // unref: a workload that throws before stop() must not keep the process alive after the report.
  const timer = setInterval(() => (peak = Math.max(peak, treeUsage(pid).rss)), 100).unref();
  const harness0 = process.cpuUsage();
  const helpers0 = new Map<number, number>();
  return {
    helperBaseline(h) {
      helpers0.set(h, treeUsage(h).cpuS);
    },
    stop(helpers = []) {
      clearInterval(timer);
      const after = treeUsage(pid);
      const own = process.cpuUsage(harness0);
      let helperCpu = 0;
      for (const h of helpers) helperCpu += treeUsage(h).cpuS - (helpers0.get(h) ?? 0);
      return { cpuS: after.cpuS - before.cpuS, peakRss: Math.max(peak, after.rss), harnessCpuS: (own.user + own.system) / 1e6 + helperCpu };
    },
  };
}

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export function percentiles(xs: readonly number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return { p50: at(50), p90: at(90), p99: at(99) };
}
