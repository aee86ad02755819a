/**
 * `zion debug auth-check --room-version N`: reads `{"event": {...},
 * "auth_events": [...]}` on stdin and prints `{"allowed": bool, "rule": "...",
 * "reason"?: "..."}`: whether the event passes the authorization rules of
 * room version N against its own auth_events (for room version 12, whose
 * events do not cite the create event, the list also carries the create
 * event). `--as-state` checks against the list taken as the room state
 * instead (how soft failure and the state before an event are checked).
 * Exit 0 allowed, 1 refused, 2 bad input.
 */
import type { Command } from "commander";
import { checkAgainstState, checkAuthEvents } from "../../core/auth/index.js";
import { stateKeyOf, tryParsePdu, type Pdu, type StateKey } from "../../core/events/index.js";
import type { EventId } from "../../core/ids/index.js";
import { collect, failUsage, printJson, readJsonObjectOrExit, roomVersionOrExit } from "./io.js";

export function registerAuthCheck(debug: Command): void {
  debug
    .command("auth-check")
    .description("check the event on stdin against its auth events (or, with --as-state, against them as the room state)")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .option("--as-state", "treat auth_events as the room state (soft-failure / state-before check)")
    .option("--rejected <event_id>", "an auth event that was rejected (repeatable)", collect, [])
    .action(async (opts: { roomVersion: string; asState?: boolean; rejected: string[] }) => {
      const rules = roomVersionOrExit(opts.roomVersion);
      const input = await readJsonObjectOrExit();
      const { event, auth_events: authRaw } = input as { event?: unknown; auth_events?: unknown };
      if (event === undefined) failUsage("stdin: missing \"event\"");
      if (authRaw !== undefined && !Array.isArray(authRaw)) failUsage("auth_events: must be a list of events");
      const parsed = tryParsePdu(event, rules);
      if (!parsed.ok) {
        printJson({ allowed: false, rule: "format", reason: `event: ${parsed.error.message}` });
        process.exitCode = 1;
        return;
      }
      const authEvents: Pdu[] = [];
      for (const [i, raw] of ((authRaw as unknown[] | undefined) ?? []).entries()) {
        const p = tryParsePdu(raw, rules);
        if (!p.ok) {
          printJson({ allowed: false, rule: "format", reason: `auth_events[${i}]: ${p.error.message}` });
          process.exitCode = 1;
          return;
        }
        authEvents.push(p.pdu);
      }
      const rejected = new Set(opts.rejected);
      const authOpts = { isRejected: (id: EventId) => rejected.has(id) };
      let verdict;
      if (opts.asState) {
        const state = new Map<StateKey, Pdu>();
        for (const e of authEvents) if (e.stateKey !== undefined) state.set(stateKeyOf(e.type, e.stateKey), e);
        verdict = checkAgainstState(parsed.pdu, state, rules, authOpts);
      } else {
        verdict = checkAuthEvents(parsed.pdu, authEvents, rules, authOpts);
      }
      printJson(verdict.allowed ? { allowed: true, rule: verdict.rule } : { allowed: false, rule: verdict.rule, reason: verdict.reason });
      process.exitCode = verdict.allowed ? 0 : 1;
    });
}
