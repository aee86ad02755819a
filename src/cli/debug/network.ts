/**
 * What `zion debug resolve` and `debug keys` share: the settings to resolve and connect with, and the text form of
 * the trace.
 *
 * Settings: with -c, exactly the server's (dns_servers, IP ranges, CA list, TLS settings). Without it, as
 * `zion federation-test` does: the system's DNS or --dns-server, the system's CAs or --ca-file, and no IP-range
 * policy (the operator named the server to look at).
 *
 * Trace lines use the marks of every CLI report (✓ ⚠ ✗). These are one-shot commands, so cache lifetimes are left
 * out (nothing is cached for later), and when the outcome succeeded, a failed optional step that the resolution
 * went past (no /.well-known/matrix/server to fetch) is shown as not applying rather than as a failure.
 */
import { resolve as resolvePath } from "node:path";
import type { Command } from "commander";
import type { TraceStep } from "../../app/federation.js";
import { ConfigError, loadConfig, parseConfig, type HomeserverConfig } from "../../config/index.js";
import { SYMBOL } from "../../tester/symbols.js";
import { collect, failUsage } from "./io.js";

export interface NetworkFlags {
  config?: string;
  dnsServer: string[];
  caFile: string[];
}

export function addNetworkOptions(cmd: Command, configHelp: string): Command {
  return cmd
    .option("-c, --config <homeserver.yaml>", configHelp)
    .option("--dns-server <ip:port>", "without -c: ask this DNS server instead of the system's (repeatable)", collect, [] as string[])
    .option("--ca-file <pem>", "without -c: trust these CA certificates instead of the system's (repeatable)", collect, [] as string[]);
}

/** The configuration to run with (exit 2 for a bad one, or for --dns-server/--ca-file together with -c). */
export function networkConfig(flags: NetworkFlags): { config: HomeserverConfig; fromFile: boolean } {
  if (flags.config && (flags.dnsServer.length > 0 || flags.caFile.length > 0)) {
    failUsage("--dns-server and --ca-file come from the configuration when -c is given");
  }
  try {
    if (flags.config) return { config: loadConfig(flags.config), fromFile: true };
    return {
      config: parseConfig(JSON.stringify({
        server_name: "zion-debug.invalid",
        trusted_key_servers: [],
        ip_range_blacklist: [],
        ...(flags.dnsServer.length > 0 ? { dns_servers: flags.dnsServer } : {}),
        ...(flags.caFile.length > 0 ? { federation_custom_ca_list: flags.caFile.map((f) => resolvePath(f)) } : {}),
      }), { fileName: "the command line" }),
      fromFile: false,
    };
  } catch (e) {
    if (e instanceof ConfigError) failUsage(`${e.file}: ${e.problems.join("; ")}`);
    throw e;
  }
}

/** Steps worth printing for a one-shot command: no cache lifetimes. */
export function oneShotSteps(steps: readonly TraceStep[]): TraceStep[] {
  return steps.filter((s) => !s.check.endsWith(".cache"));
}

/** "Did not apply": a failed optional step that a successful outcome went past. */
const NOT_APPLICABLE = SYMBOL.skip;

/**
 * Steps 3.x of server-name resolution: everything up to the resolver's "no usable .well-known ... continuing" step.
 * When resolution still succeeded, a failure there means no file to fetch (no address, nothing listening, 404): the
 * optional step did not apply. A file that was served but broken, or a TLS failure on 443, stays a warning: someone
 * probably meant to delegate.
 */
const BROKEN_FILE = /^(well-known\.(json|m-server|client-pasted|content-type)|tls\.)/;

export function formatSteps(steps: readonly TraceStep[], succeeded: boolean): string[] {
  const shown = oneShotSteps(steps);
  const end = succeeded ? shown.findIndex((s) => s.check === "well-known.fetch" && s.ok && s.warn === true) : -1;
  const broken = end >= 0 && shown.slice(0, end).some((s) => !s.ok && BROKEN_FILE.test(s.check));
  return shown.map((s, i) => {
    let mark: string = !s.ok ? SYMBOL.fail : s.warn ? SYMBOL.warn : SYMBOL.ok;
    let note = "";
    if (i <= end && (!s.ok || i === end)) {
      if (!broken) {
        mark = NOT_APPLICABLE;
        note = i === end ? "" : " (optional; did not apply)";
      } else if (!s.ok) {
        mark = BROKEN_FILE.test(s.check) ? SYMBOL.warn : NOT_APPLICABLE;
        if (mark === NOT_APPLICABLE) note = " (optional; did not apply)";
      }
    }
    const where = s.address ? ` [${s.address}]` : "";
    const fix = s.fix && mark !== NOT_APPLICABLE && mark !== SYMBOL.ok ? `\n    fix: ${s.fix}` : "";
    return `${mark} ${s.check}${where}: ${s.detail ?? ""}${note}${fix}`;
  });
}
