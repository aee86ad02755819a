/**
 * `zion federation-test <server_name>`: tests whether <server_name> can federate, step by step, with the server's
 * own resolution and TLS code. Without -c it needs no configuration; with -c homeserver.yaml it resolves and
 * connects exactly as that server would and adds the checks that need our identity. Exit 0 when federation is OK,
 * 1 when it is not, 2 for a usage error.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config/index.js";
import { systemClock } from "../app/clock.js";
import { envFromConfig, standaloneEnv } from "../tester/env.js";
import { runFederationTest } from "../tester/federation-test.js";
import { printReport, progressFor, usageError, type OutputFlags } from "../tester/cli-output.js";

interface Flags extends OutputFlags {
  config?: string;
  dnsServer?: string[];
  caFile?: string[];
  timeout?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerFederationTest(program: Command): void {
  program
    .command("federation-test")
    .description("test a server's federation setup: discovery, DNS, TLS, keys, version, client well-known (exit 0 OK, 1 not OK, 2 usage)")
    .argument("<server_name>", "the server name to test, e.g. example.org")
    .option("-c, --config <file>", "resolve and connect as this homeserver would, and test that the target can reach back")
    .option("--json", "print the JSON report (matrix-federation-tester's fields plus Zion's checks)")
    .option("--html <file>", "also write a self-contained HTML page of the report")
    .option("--dns-server <ip:port>", "without -c: ask this DNS server (repeatable)", collect)
    .option("--ca-file <pem>", "without -c: trust these CA certificates instead of the system's (repeatable)", collect)
    .option("--timeout <ms>", "per-connection timeout in ms (default 10000)")
    .option("--no-color", "no colours even on a terminal")
    // Usage errors (missing argument, unknown option) exit 2, help exits 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (serverName: string, flags: Flags) => {
      process.exitCode = await federationTestCommand(serverName, flags);
    });
}

export async function federationTestCommand(serverName: string, flags: Flags): Promise<number> {
  const streams = { stdout: process.stdout, stderr: process.stderr };
  const timeoutMs = flags.timeout !== undefined ? Number(flags.timeout) : undefined;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) return usageError(streams, `--timeout ${flags.timeout} is not a positive number of ms`);
  if (flags.config && (flags.dnsServer || flags.caFile)) return usageError(streams, "--dns-server and --ca-file come from the configuration when -c is given");
  let env;
  try {
    if (flags.config) {
      env = envFromConfig(loadConfig(flags.config), systemClock, timeoutMs !== undefined ? { timeoutMs } : {});
    } else {
      const caPems = (flags.caFile ?? []).map((p) => readFileSync(p, "utf8"));
      env = standaloneEnv(systemClock, {
        ...(flags.dnsServer ? { dnsServers: flags.dnsServer } : {}),
        ...(caPems.length ? { caPems } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
    }
  } catch (e) {
    if (e instanceof ConfigError) return usageError(streams, `configuration error in ${e.file}: ${e.problems.join("; ")}`);
    return usageError(streams, (e as Error).message);
  }
  const progress = progressFor(streams, flags);
  const report = await runFederationTest(serverName, env, { onStart: progress.onStart, onCheck: progress.onCheck });
  return printReport(report, streams, flags, progress.line);
}
