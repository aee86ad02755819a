/**
 * `zion debug keys <server_name> [-c homeserver.yaml | --dns-server IP:PORT --ca-file PEM] [--via NOTARY] [--key-id ID]...
 * [--json]`: fetches a server's
 * signing keys as Zion would (directly, or through the notary NOTARY), checks the signatures and validity, and
 * prints the verified keys or why they were refused. Uses a throwaway cache, never the server's database. Exit 0
 * verified, 1 refused.
 *
 * Through a notary the keys are named in the query, with minimum_valid_until_ts, by the key ring's own notary code
 * (KeyRing.fetch with key ids), because a notary asked for "all keys" (an empty key map) may answer from its cache
 * only: Synapse then returns `server_keys: []` for a server it has not cached. The ids are --key-id, or else the ones
 * the server itself publishes (GET /_matrix/key/v2/server); only when that fails is the notary asked for all keys.
 */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { createFederation, MemoryKeyStore, RecordingTrace, trustedKeyServers, type FederationServices } from "../../app/federation.js";
import { systemClock } from "../../app/clock.js";
import { readSigningKeys } from "../../app/signing-key.js";
import { signingKeyFromSeed } from "../../core/crypto/index.js";
import { checkServerName, type KeyId, type ServerName } from "../../core/ids/index.js";
import { collect, failUsage, printJson } from "./io.js";
import { addNetworkOptions, formatSteps, networkConfig, oneShotSteps, type NetworkFlags } from "./network.js";

export function registerKeys(debug: Command): void {
  addNetworkOptions(debug.command("keys"), "use this server's DNS, IP ranges, TLS settings and trusted_key_servers")
    .description("fetch and verify a server's signing keys as Zion would (exit 0 verified, 1 refused)")
    .argument("<server_name>", "whose keys to fetch")
    .option("--via <notary>", "ask this notary (POST /_matrix/key/v2/query) instead of the server itself")
    .option("--key-id <key_id>", "with --via: a key ID to ask the notary for (repeatable; default: the IDs the server publishes)",
      collect, [] as string[])
    .option("--json", "print JSON instead of text")
    .action(async (serverName: string, opts: NetworkFlags & { via?: string; keyId: string[]; json?: boolean }) => {
      if (!checkServerName(serverName).ok) failUsage(`${JSON.stringify(serverName)} is not a server name`);
      if (opts.via !== undefined && !checkServerName(opts.via).ok) failUsage(`--via ${JSON.stringify(opts.via)} is not a server name`);
      if (opts.keyId.length > 0 && opts.via === undefined) failUsage("--key-id names keys to ask a notary for: use it with --via");
      for (const id of opts.keyId) if (!/^ed25519:[A-Za-z0-9_]+$/.test(id)) failUsage(`--key-id ${JSON.stringify(id)} is not an ed25519 key ID`);
      const { config, fromFile } = networkConfig(opts);
      // The key endpoints are unauthenticated: the configured key is used when there is one, else a throwaway one.
      const signingKeys = fromFile ? readSigningKeys(config.signing_key_path) : [signingKeyFromSeed("debug", randomBytes(32))];
      const fed = createFederation(config, { keys: new MemoryKeyStore(), signingKeys, clock: systemClock });
      const trace = new RecordingTrace();
      const via = opts.via
        ? [trustedKeyServers(config).find((t) => t.serverName === opts.via) ?? { serverName: opts.via as ServerName }]
        : "direct" as const;
      const server = serverName as ServerName;
      const out = via === "direct"
        ? await fed.keyRing.fetch(server, trace, "direct")
        : await fed.keyRing.fetch(server, trace, via, opts.keyId.length > 0 ? opts.keyId as KeyId[] : await publishedKeyIds(fed.keyRing, server, trace));
      await fed.close();
      const now = Date.now();
      if (opts.json) {
        printJson(out.ok
          ? {
            verified: true, server_name: serverName, from: out.from, valid_until_ts: out.keys.validUntilTs,
            verify_keys: Object.fromEntries(out.keys.verifyKeys.map((k) => [k.keyId, k.publicKeyBase64])),
            old_verify_keys: Object.fromEntries(out.keys.oldVerifyKeys.map((k) => [k.keyId, { key: k.publicKeyBase64, expired_ts: k.expiredTs }])),
            steps: oneShotSteps(trace.steps),
          }
          : { verified: false, server_name: serverName, reason: out.reason, steps: oneShotSteps(trace.steps) });
      } else {
        const lines = formatSteps(trace.steps, out.ok);
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

/** The key IDs `server` publishes itself, to name them to a notary; none (ask for all keys) when it cannot be reached. */
async function publishedKeyIds(keyRing: FederationServices["keyRing"], server: ServerName, trace: RecordingTrace): Promise<KeyId[]> {
  trace.step({ check: "keys.fetch", ok: true, detail: `asking ${server} for the key IDs it publishes, to name them to the notary` });
  const d = await keyRing.fetch(server, trace, "direct");
  if (d.ok) return d.keys.verifyKeys.map((k) => k.keyId);
  trace.step({
    check: "keys.fetch", ok: true, warn: true,
    detail: `asking the notary for all keys of ${server}, which a notary may answer from its cache only (Synapse answers [] for a server it has not cached)`,
    fix: "Name the key with --key-id ed25519:<version> (from the error that sent you here) so that the notary fetches it.",
  });
  return [];
}
