/**
 * `zion debug keys <server_name> [-c homeserver.yaml] [--via NOTARY] [--json]`: fetches a server's signing keys
 * as Zion would (directly, or through the notary NOTARY), checks the signatures and validity, and prints the
 * verified keys or why they were refused. Uses a throwaway cache, never the server's database. Exit 0 verified,
 * 1 refused.
 */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { createFederation, MemoryKeyStore, RecordingTrace, trustedKeyServers } from "../../app/federation.js";
import { readSigningKeys, systemClock } from "../../app/index.js";
import { loadConfig, parseConfig } from "../../config/index.js";
import { signingKeyFromSeed } from "../../core/crypto/index.js";
import { checkServerName, type ServerName } from "../../core/ids/index.js";
import { failUsage, printJson } from "./io.js";
import { formatStep } from "./resolve.js";

export function registerKeys(debug: Command): void {
  debug
    .command("keys")
    .description("fetch and verify a server's signing keys as Zion would (exit 0 verified, 1 refused)")
    .argument("<server_name>", "whose keys to fetch")
    .option("-c, --config <homeserver.yaml>", "use this server's DNS, IP ranges, TLS settings and trusted_key_servers")
    .option("--via <notary>", "ask this notary (POST /_matrix/key/v2/query) instead of the server itself")
    .option("--json", "print JSON instead of text")
    .action(async (serverName: string, opts: { config?: string; via?: string; json?: boolean }) => {
      if (!checkServerName(serverName).ok) failUsage(`${JSON.stringify(serverName)} is not a server name`);
      if (opts.via !== undefined && !checkServerName(opts.via).ok) failUsage(`--via ${JSON.stringify(opts.via)} is not a server name`);
      const config = opts.config ? loadConfig(opts.config) : parseConfig("server_name: zion-debug.invalid\ntrusted_key_servers: []\n");
      // The key endpoints are unauthenticated: the configured key is used when there is one, else a throwaway one.
      const signingKeys = opts.config ? readSigningKeys(config.signing_key_path) : [signingKeyFromSeed("debug", randomBytes(32))];
      const fed = createFederation(config, { keys: new MemoryKeyStore(), signingKeys, clock: systemClock });
      const trace = new RecordingTrace();
      const via = opts.via
        ? [trustedKeyServers(config).find((t) => t.serverName === opts.via) ?? { serverName: opts.via as ServerName }]
        : "direct" as const;
      const out = await fed.keyRing.fetch(serverName as ServerName, trace, via);
      await fed.close();
      const now = Date.now();
      if (opts.json) {
        printJson(out.ok
          ? {
            verified: true, server_name: serverName, from: out.from, valid_until_ts: out.keys.validUntilTs,
            verify_keys: Object.fromEntries(out.keys.verifyKeys.map((k) => [k.keyId, k.publicKeyBase64])),
            old_verify_keys: Object.fromEntries(out.keys.oldVerifyKeys.map((k) => [k.keyId, { key: k.publicKeyBase64, expired_ts: k.expiredTs }])),
            steps: trace.steps,
          }
          : { verified: false, server_name: serverName, reason: out.reason, steps: trace.steps });
      } else {
        const lines = trace.steps.map(formatStep);
        if (out.ok) {
          lines.push("", `keys of ${serverName} (from ${out.from}), valid until ${new Date(out.keys.validUntilTs).toISOString()}${out.keys.validUntilTs < now ? " (IN THE PAST)" : ""}:`);
          for (const k of out.keys.verifyKeys) lines.push(`  ${k.keyId} ${k.publicKeyBase64}`);
          for (const k of out.keys.oldVerifyKeys) lines.push(`  ${k.keyId} ${k.publicKeyBase64} (old, expired ${new Date(k.expiredTs ?? 0).toISOString()})`);
        } else {
          lines.push("", `refused: ${out.reason}`);
        }
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      process.exitCode = out.ok ? 0 : 1;
    });
}
