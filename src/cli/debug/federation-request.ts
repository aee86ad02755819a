/**
 * `zion debug federation-request <destination> <path> -c homeserver.yaml [-X METHOD] [--data JSON] [--unsigned]`:
 * sends one federation request as this server (its signing key, its resolution and TLS settings), signed with
 * X-Matrix, and prints {status, body} as JSON (Synapse's scripts/federation_client.py does the same job).
 * Exit 0 for a 2xx answer, 1 otherwise.
 */
import type { Command } from "commander";
import { createFederation, MemoryKeyStore } from "../../app/federation.js";
import { systemClock } from "../../app/clock.js";
import { readSigningKeys } from "../../app/signing-key.js";
import { loadConfig } from "../../config/index.js";
import type { JsonValue } from "../../core/json/types.js";
import { failUsage, printJson } from "./io.js";

export function registerFederationRequest(debug: Command): void {
  debug
    .command("federation-request")
    .description("send one X-Matrix-signed federation request as this server and print the answer (exit 0 on 2xx)")
    .argument("<destination>", "the server name to send to")
    .argument("<path>", "path and query, e.g. /_matrix/federation/v1/query/profile?user_id=@a:example.org")
    .requiredOption("-c, --config <homeserver.yaml>", "the server to act as")
    .option("-X, --method <method>", "GET, POST, PUT or DELETE", "GET")
    .option("--data <json>", "the JSON body")
    .option("--unsigned", "send without an Authorization header")
    .action(async (destination: string, path: string, opts: { config: string; method: string; data?: string; unsigned?: boolean }) => {
      const method = opts.method.toUpperCase();
      if (!["GET", "POST", "PUT", "DELETE"].includes(method)) failUsage(`-X ${opts.method}: use GET, POST, PUT or DELETE`);
      if (!path.startsWith("/_matrix/")) failUsage(`${JSON.stringify(path)} must start with /_matrix/`);
      let body: JsonValue | undefined;
      if (opts.data !== undefined) {
        try {
          body = JSON.parse(opts.data) as JsonValue;
        } catch (e) {
          failUsage(`--data is not JSON: ${(e as Error).message}`);
        }
      }
      const config = loadConfig(opts.config);
      const fed = createFederation(config, { keys: new MemoryKeyStore(), signingKeys: readSigningKeys(config.signing_key_path), clock: systemClock });
      const q = path.indexOf("?");
      try {
        const res = await fed.client.request({
          destination, method: method as "GET", path: q < 0 ? path : path.slice(0, q),
          ...(q >= 0 ? { rawQuery: path.slice(q + 1) } : {}),
          ...(body !== undefined ? { body } : {}),
          ...(opts.unsigned ? { signed: false } : {}),
        });
        printJson({ status: res.status, body: res.body });
        process.exitCode = 0;
      } catch (e) {
        const err = e as { status?: number; errcode?: string; kind?: string; message: string };
        printJson({ status: err.status ?? null, errcode: err.errcode ?? null, kind: err.kind ?? null, error: err.message });
        process.exitCode = 1;
      } finally {
        await fed.close();
      }
    });
}
