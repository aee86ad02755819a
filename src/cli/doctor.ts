/**
 * `zion doctor -c homeserver.yaml`: before going live, checks the local setup (TLS files, certificate names and
 * expiry, signing key, public_baseurl and listeners, delegation versus ports, whitelist, database reachable and
 * migrated), then runs the federation test against our own server name as this server would. Exit 0 when
 * everything needed for federation is OK, 1 when not, 2 for a usage error.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError, loadConfigWithWarnings } from "../config/index.js";
import { systemClock } from "../app/clock.js";
import { doctorDatabase } from "../app/federation-tester.js";
import { readAcmeDoctorView } from "../app/certificates.js";
import { runLocalChecks } from "../tester/doctor-local.js";
import { dnsFromConfig, envFromConfig } from "../tester/env.js";
import { runFederationTest } from "../tester/federation-test.js";
import { ReportBuilder } from "../tester/report.js";
import { printReport, progressFor, usageError, type OutputFlags } from "../tester/cli-output.js";

interface Flags extends OutputFlags {
  config?: string;
  remote?: boolean;
  timeout?: string;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check a homeserver.yaml and its files before going live, then federation-test our own name (exit 0 OK, 1 not OK, 2 usage)")
    .option("-c, --config <file>", "the homeserver.yaml to check (required)")
    .option("--json", "print the JSON report")
    .option("--html <file>", "also write a self-contained HTML page of the report")
    .option("--no-remote", "only the local checks: skip the federation test of our own name")
    .option("--timeout <ms>", "per-connection timeout in ms (default 10000)")
    .option("--no-color", "no colours even on a terminal")
    // Usage errors (missing argument, unknown option) exit 2, help exits 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (flags: Flags) => {
      process.exitCode = await doctorCommand(flags);
    });
}

export async function doctorCommand(flags: Flags): Promise<number> {
  const streams = { stdout: process.stdout, stderr: process.stderr };
  if (!flags.config) return usageError(streams, "doctor needs -c homeserver.yaml");
  const timeoutMs = flags.timeout !== undefined ? Number(flags.timeout) : undefined;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) return usageError(streams, `--timeout ${flags.timeout} is not a positive number of ms`);
  const progress = progressFor(streams, flags);
  // Under --no-remote nothing about federation itself was tested, so the verdict is about the local setup only.
  const subject = flags.remote === false ? "Local setup" : undefined;
  let loaded;
  try {
    loaded = loadConfigWithWarnings(flags.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      // A configuration that does not load is the doctor's first finding, not a usage error: one check per problem.
      const b = new ReportBuilder("doctor", flags.config, systemClock.now());
      const unreadable = !existsSync(e.file);
      for (const p of e.problems) {
        b.fail("local.config", `${e.file}: ${p}`, unreadable ? { fix: "Give -c the path of an existing homeserver.yaml, or write one with `npx zion generate-config`." } : {});
      }
      return printReport(b.finish(systemClock.now()), streams, flags, progress.line, subject);
    }
    return usageError(streams, (e as Error).message);
  }
  const config = loaded.config;
  const b = new ReportBuilder("doctor", config.server_name, systemClock.now());
  b.onStart(progress.onStart);
  b.onCheck(progress.onCheck);
  if (loaded.warnings.length) {
    for (const w of loaded.warnings) b.warn("local.config", `${flags.config}: ${w}`, { fix: "Remove or correct the key named in the warning." });
  } else b.ok("local.config", `${flags.config} loads`);
  const acme = await readAcmeDoctorView(config, systemClock.now());
  await runLocalChecks(config, b, { now: systemClock.now(), database: doctorDatabase(config), dns: dnsFromConfig(config), ...(acme ? { acme } : {}) });
  if (flags.remote !== false) {
    await runFederationTest(config.server_name, envFromConfig(config, systemClock, timeoutMs !== undefined ? { timeoutMs } : {}), { builder: b });
  }
  return printReport(b.finish(systemClock.now()), streams, flags, progress.line, subject);
}
