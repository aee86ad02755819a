/** Runs the compiled `zion debug ...` as a child process, as an operator's script would. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface DebugRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON, or the text itself when it is not JSON. */
  readonly out: unknown;
}

/** `zion debug <args...>` with `input` on stdin (bounded at 60 s). */
export function runDebug(args: readonly string[], input: string): DebugRun {
  const r = spawnSync(process.execPath, [cli, "debug", ...args], { input, encoding: "utf8", timeout: 60_000 });
  let out: unknown;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    out = r.stdout;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out };
}
