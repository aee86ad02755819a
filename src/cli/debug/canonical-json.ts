/** `zion debug canonical-json`: JSON on stdin, its canonical JSON bytes on stdout (a newline only on a terminal). */
import type { Command } from "commander";
import { canonicalJson } from "../../core/json/canonical.js";
import { failUsage } from "./io.js";
import { readJsonInput, run } from "./signed-json-common.js";

export function registerCanonicalJson(debug: Command): void {
  debug
    .command("canonical-json")
    .description("print the canonical JSON of the JSON on stdin (the exact bytes that are hashed and signed)")
    .option("--allow-floats", "accept floats and out-of-range integers (room versions 1-5 tolerated them)")
    .action((opts: { allowFloats?: boolean }) =>
      run(async () => {
        const strict = !opts.allowFloats;
        try {
          const value = await readJsonInput(strict);
          process.stdout.write(canonicalJson(value, { strict }) + (process.stdout.isTTY ? "\n" : ""));
        } catch (e) {
          // A float or a big integer: say which option accepts it (old room versions carry such numbers).
          const message = e instanceof Error ? e.message : String(e);
          if (strict && /not an integer|outside \[/.test(message)) failUsage(`${message}; --allow-floats accepts it (room versions 1-5 tolerated floats and big integers)`);
          throw e;
        }
      }),
    );
}
