/**
 * `zion debug verify-json --server-name NAME --verify-key ed25519:ID=BASE64`:
 * checks the JSON object on stdin for NAME's signature. Prints a JSON verdict;
 * exit 0 valid, 1 invalid, 2 bad input.
 */
import type { Command } from "commander";
import { verifyJsonSignatures } from "../../core/crypto/sign.js";
import { failUsage, printJson } from "./io.js";
import { collect, parseVerifyKey, readJsonObjectInput, run } from "./signed-json-common.js";

export function registerVerifyJson(debug: Command): void {
  debug
    .command("verify-json")
    .description("check the signature of --server-name on the JSON object on stdin (exit 0 valid, 1 invalid)")
    .requiredOption("--server-name <name>", "the server whose signature must be present")
    .option("--verify-key <ed25519:ID=BASE64>", "a public key of that server (repeatable)", collect, [])
    .action((opts: { serverName: string; verifyKey: string[] }) =>
      run(async () => {
        if (opts.verifyKey.length === 0) failUsage("--verify-key ed25519:ID=BASE64 is required");
        const keys = new Map(opts.verifyKey.map((k) => parseVerifyKey(k, false)).map((k) => [k.keyId, k.publicKey]));
        const obj = await readJsonObjectInput(false);
        const v = verifyJsonSignatures(obj, [opts.serverName], (server, keyId) => (server === opts.serverName ? keys.get(keyId) : undefined));
        printJson(v.ok ? { valid: true } : { valid: false, reason: v.reason });
        process.exitCode = v.ok ? 0 : 1;
      }),
    );
}
