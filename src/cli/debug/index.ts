/**
 * `zion debug ...`: JSON in on stdin, JSON (or text) out on stdout. Each
 * subcommand lives in its own file and is listed here, one line each.
 * Bad input: a one-line reason on stderr and exit code 2.
 */
import type { Command } from "commander";

type Register = (debug: Command) => void;

const COMMANDS: Register[] = [
  // one entry per subcommand file, e.g. registerCanonicalJson,
];

export function registerDebugCommands(program: Command): void {
  const debug = program.command("debug").description("protocol tools for operators: JSON on stdin, JSON on stdout");
  for (const register of COMMANDS) register(debug);
}
