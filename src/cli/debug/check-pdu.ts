/**
 * `zion debug check-pdu --room-version N [--verify-key NAME:ed25519:ID=BASE64 ...]`:
 * runs the receipt checks on the PDU on stdin (format, signatures, content
 * hash, event id) and prints a JSON verdict naming each failed check.
 * Exit 0 when the event is usable (possibly redacted), 1 when it would be
 * dropped, 2 when stdin is not JSON or an option is bad.
 */
import type { Command } from "commander";
import { checkPdu } from "../../core/events/check.js";
import { printJson } from "./io.js";
import { collect, parseVerifyKey, readJsonInput, rulesOption, run } from "./signed-json-common.js";

export function registerCheckPdu(debug: Command): void {
  debug
    .command("check-pdu")
    .description("check the PDU on stdin as a receiving server would and print a verdict naming each failed check")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .option("--verify-key <NAME:ed25519:ID=BASE64>", "a server's public key (repeatable)", collect, [])
    .option("--event-id <id>", "the event id the event must have")
    .option("--room-id <id>", "the room the event must be in")
    .action((opts: { roomVersion: string; verifyKey: string[]; eventId?: string; roomId?: string }) =>
      run(async () => {
        const rules = rulesOption(opts.roomVersion);
        const keys = new Map(opts.verifyKey.map((k) => parseVerifyKey(k, true)).map((k) => [`${k.serverName} ${k.keyId}`, k.publicKey]));
        // Not strict here: a float in a v6+ event is a format failure the verdict should name, not bad input.
        const raw = await readJsonInput(false);
        const v = checkPdu(raw, rules, (server, keyId) => keys.get(`${server} ${keyId}`), {
          ...(opts.eventId !== undefined ? { eventId: opts.eventId } : {}),
          ...(opts.roomId !== undefined ? { roomId: opts.roomId } : {}),
        });
        printJson({
          ok: v.ok,
          event_id: v.eventId ?? null,
          room_id: v.pdu?.roomId ?? null,
          redacted: v.redacted,
          failed_checks: v.failures.map((f) => f.check),
          failures: v.failures,
        });
        process.exitCode = v.ok ? 0 : 1;
      }),
    );
}
