/** `zion debug redact --room-version N`: the PDU on stdin after the version's redaction algorithm. */
import type { Command } from "commander";
import { redactEvent } from "../../core/events/redact.js";
import { printJsonKeepingNumbers } from "./io.js";
import { readJsonObjectInput, rulesOption, run } from "./signed-json-common.js";

export function registerRedact(debug: Command): void {
  debug
    .command("redact")
    .description("print the PDU on stdin as the room version's redaction algorithm leaves it")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .action((opts: { roomVersion: string }) =>
      run(async () => {
        const rules = rulesOption(opts.roomVersion);
        // Printed from canonical text: a v1-5 event's floats keep their literals, so the output has the input's event id.
        printJsonKeepingNumbers(redactEvent(await readJsonObjectInput(rules.strictCanonicalJson), rules));
      }),
    );
}
