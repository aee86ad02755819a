/**
 * Profiles one phase of a benchmark (not its set-up) when ZION_BENCH_PROFILE names a folder: a V8 CPU profile
 * (.cpuprofile, readable in Chrome DevTools or `node scripts/cpu-profile-summary.mjs`) is written there per phase.
 * Without the variable the phase runs unprofiled.
 *
 *   ZION_BENCH_PROFILE=/tmp/prof npm run bench -- sync
 */
import { Session } from "node:inspector/promises";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export async function profiled<T>(name: string, phase: () => Promise<T>): Promise<T> {
  const dir = process.env["ZION_BENCH_PROFILE"];
  if (!dir) return phase();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    return await phase();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`  (CPU profile of ${name}: ${file})`);
  }
}
