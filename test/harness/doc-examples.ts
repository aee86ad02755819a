/**
 * Runs the commands a document shows, as a reader would type them, and compares what they print with what the
 * document says they print. A command is a `$ ` line in a ```console block (optionally tagged: ```console lab);
 * the lines after it, up to the next `$ ` line, are its expected standard output. `...` alone on a line stands for
 * any number of lines, and `...` inside a line for any text. A trailing `# exit N` on the command line is the exit
 * code expected (default 0).
 */
import { spawnSync } from "node:child_process";

export interface DocCommand {
  /** 1-based line of the `$ ` line in the document. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
  readonly exit: number;
}

/** The commands of every ```console block whose tag is `tag` (no tag: untagged blocks). */
export function consoleCommands(markdown: string, tag = ""): DocCommand[] {
  const out: { line: number; command: string; expected: string[]; exit: number }[] = [];
  let inBlock = false;
  markdown.split("\n").forEach((text, i) => {
    const fence = /^```(\S*)\s*(\S*)\s*$/.exec(text);
    if (fence) {
      inBlock = !inBlock && fence[1] === "console" && (fence[2] ?? "") === tag;
      return;
    }
    if (!inBlock) return;
    if (text.startsWith("$ ")) {
      const exit = /#\s*exit\s+(\d+)\s*$/.exec(text);
      out.push({ line: i + 1, command: text.slice(2), expected: [], exit: exit ? Number(exit[1]) : 0 });
    } else if (out.length > 0) out[out.length - 1]!.expected.push(text);
  });
  return out;
}

function lineMatches(pattern: string, actual: string): boolean {
  if (!pattern.includes("...")) return pattern === actual;
  const re = new RegExp(`^${pattern.split("...").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(actual);
}

/** Whether `actual` (stdout) matches the expected lines; `...` lines match any run of lines. */
export function outputMatches(expected: readonly string[], actual: string): boolean {
  const want = [...expected];
  while (want.length > 0 && want[want.length - 1] === "") want.pop();
  const got = actual.replace(/\n$/, "").split("\n");
  if (actual === "") got.length = 0;
  const match = (w: number, g: number): boolean => {
    if (w === want.length) return g === got.length;
    if (want[w] === "...") {
      for (let k = g; k <= got.length; k++) if (match(w + 1, k)) return true;
      return false;
    }
    return g < got.length && lineMatches(want[w]!, got[g]!) && match(w + 1, g + 1);
  };
  return match(0, 0);
}

/** Runs one command line with bash (pipes and redirections as written), in `cwd`. */
export function runDocCommand(command: string, opts: { cwd: string; env?: Readonly<Record<string, string>>; timeoutMs?: number }) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", command], {
    cwd: opts.cwd, encoding: "utf8", timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, NO_COLOR: "1", ...(opts.env ?? {}) },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
