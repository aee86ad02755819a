/**
 * `zion debug ...`: JSON in on stdin, JSON (or text) out on stdout. Each
 * subcommand lives in its own file and is listed here, one line each.
 * Bad input: a one-line reason on stderr and exit code 2.
 */
import type { Command } from "commander";
import { registerCanonicalJson } from "./canonical-json.js";
import { registerSignJson } from "./sign-json.js";
import { registerVerifyJson } from "./verify-json.js";
import { registerEventId } from "./event-id.js";
import { registerRedact } from "./redact.js";
import { registerCheckPdu } from "./check-pdu.js";
import { registerAuthCheck } from "./auth-check.js";
import { registerResolveState } from "./resolve-state.js";
import { registerResolve } from "./resolve.js";
import { registerKeys } from "./keys.js";
import { registerFederationRequest } from "./federation-request.js";
import { registerDestinations } from "./destinations.js";

type Register = (debug: Command) => void;

const COMMANDS: Register[] = [
  // one entry per subcommand file, e.g. registerCanonicalJson,
  registerCanonicalJson,
  registerSignJson,
  registerVerifyJson,
  registerEventId,
  registerRedact,
  registerCheckPdu,
  registerAuthCheck,
  registerResolveState,
  registerResolve,
  registerKeys,
  registerFederationRequest,
  registerDestinations,
];

export function registerDebugCommands(program: Command): void {
  const debug = program.command("debug").description("protocol tools for operators: JSON on stdin, JSON on stdout");
  // Commander exits 1 on a usage error (missing or unknown option), which a script could not tell from
  // "invalid" (exit 1 of verify-json, check-pdu, auth-check). Commander has already printed the one-line
  // reason; make the exit code 2 as for any other bad input. Subcommands inherit this when created below.
  debug.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  for (const register of COMMANDS) register(debug);
}
