/** `zion debug redact --room-version N`: the PDU on stdin after the version's redaction algorithm. */
import type { Command } from "commander";
import { redactEvent } from "../../core/events/redact.js";
import { printJson } from "./io.js";
import { readJsonObjectInput, rulesOption, run } from "./signed-json-common.js";

export function registerRedact(debug: Command): void {
  debug
    .command("redact")
    .description("print the PDU on stdin as the room version's redaction algorithm leaves it")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .action((opts: { roomVersion: string }) =>
      run(async () => {
        const rules = rulesOption(opts.roomVersion);
        printJson(redactEvent(await readJsonObjectInput(rules.strictCanonicalJson), rules));
      }),
    );
}
