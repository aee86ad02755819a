/** `zion debug sign-json --signing-key FILE --server-name NAME`: the JSON object on stdin, signed, on stdout. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseSigningKeyFile } from "../../core/crypto/keys.js";
import { signJson } from "../../core/crypto/sign.js";
import { failUsage, printJson } from "./io.js";
import { readJsonObjectInput, run } from "./signed-json-common.js";

export function registerSignJson(debug: Command): void {
  debug
    .command("sign-json")
    .description("sign the JSON object on stdin (Synapse-format signing key file) and print it with its signatures")
    .requiredOption("--signing-key <file>", "signing key file: 'ed25519 <version> <base64 seed>' per line")
    .requiredOption("--server-name <name>", "the server name to sign as")
    .option("--key-id <id>", "which key of the file to use (default: the first)")
    .action((opts: { signingKey: string; serverName: string; keyId?: string }) =>
      run(async () => {
        let text: string;
        try {
          text = readFileSync(opts.signingKey, "utf8");
        } catch (e) {
          failUsage(`--signing-key ${opts.signingKey}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        const keys = parseSigningKeyFile(text);
        const key = opts.keyId === undefined ? keys[0] : keys.find((k) => k.keyId === opts.keyId);
        if (!key) failUsage(opts.keyId === undefined ? `--signing-key ${opts.signingKey}: no key in the file` : `--key-id ${opts.keyId}: not in ${opts.signingKey}`);
        const obj = await readJsonObjectInput();
        printJson(signJson(obj, opts.serverName, key));
      }),
    );
}
