/**
 * `zion debug resolve <server_name> [-c homeserver.yaml | --dns-server IP:PORT --ca-file PEM] [--json]`: resolves a
 * server name exactly as the server would (the same code, and with -c the same dns_servers, IP ranges and TLS
 * settings; without it, see network.ts), printing every step, the
 * {ip, port} candidates in order, the Host header and the certificate name expected. Exit 0 resolved, 1 not.
 */
import type { Command } from "commander";
import { createDiscovery, RecordingTrace } from "../../app/federation.js";
import { systemClock } from "../../app/clock.js";
import { printJson } from "./io.js";
import { addNetworkOptions, formatSteps, networkConfig, oneShotSteps, type NetworkFlags } from "./network.js";

export function registerResolve(debug: Command): void {
  addNetworkOptions(debug.command("resolve"), "use this server's dns_servers, IP ranges and TLS settings")
    .description("resolve a server name as Zion would and print each step (exit 0 resolved, 1 not)")
    .argument("<server_name>", "the server name to resolve, e.g. matrix.org or example.com:8448")
    .option("--json", "print JSON instead of text")
    .option("--timeout <ms>", "per-request timeout in ms", (v) => Number(v), 10_000)
    .action(async (serverName: string, opts: NetworkFlags & { json?: boolean; timeout: number }) => {
      const { config } = networkConfig(opts);
      const d = createDiscovery(config, systemClock, { timeoutMs: opts.timeout });
      const trace = new RecordingTrace();
      const out = await d.resolver.resolve(serverName, { trace, noCache: true });
      await d.https.close();
      if (opts.json) {
        printJson(out.ok
          ? { resolved: true, server_name: serverName, step: out.resolution.step, host_header: out.resolution.hostHeader,
            certificate_name: out.resolution.tlsName, targets: out.resolution.targets, ...(out.resolution.delegatedTo ? { delegated_to: out.resolution.delegatedTo } : {}),
            steps: oneShotSteps(trace.steps) }
          : { resolved: false, server_name: serverName, reason: out.reason, steps: oneShotSteps(trace.steps) });
      } else {
        const lines = formatSteps(trace.steps, out.ok);
        if (out.ok) {
          const r = out.resolution;
          lines.push("", `resolved by step ${r.step} of https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names`);
          lines.push("candidates, in order:");
          for (const t of r.targets) lines.push(`  ${t.ip.includes(":") ? `[${t.ip}]` : t.ip}:${t.port}  (${t.host})`);
          lines.push(`Host header: ${r.hostHeader}`, `certificate name expected: ${r.tlsName}${/^[0-9.]+$|:/.test(r.tlsName) ? " (IP address; no SNI sent)" : " (sent as SNI)"}`);
        } else {
          lines.push("", `not resolved: ${out.reason}`);
        }
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      process.exitCode = out.ok ? 0 : 1;
    });
}
