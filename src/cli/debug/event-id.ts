/** `zion debug event-id --room-version N`: the event id of the PDU on stdin, as plain text. */
import type { Command } from "commander";
import { computeEventId } from "../../core/events/hashes.js";
import { readJsonObjectInput, rulesOption, run } from "./signed-json-common.js";

export function registerEventId(debug: Command): void {
  debug
    .command("event-id")
    .description("print the event id of the PDU on stdin (v1-v2: its event_id; v3+: $ and its reference hash)")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .action((opts: { roomVersion: string }) =>
      run(async () => {
        const rules = rulesOption(opts.roomVersion);
        const raw = await readJsonObjectInput(rules.strictCanonicalJson);
        process.stdout.write(`${computeEventId(raw, rules)}\n`);
      }),
    );
}
