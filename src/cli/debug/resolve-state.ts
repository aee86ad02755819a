/**
 * `zion debug resolve-state --room-version N`: reads `{"state_sets":
 * [[event_id, ...], ...], "events": [{...}, ...]}` (every event needed, auth
 * chains included) and prints the resolved state as a JSON list of
 * `{"type", "state_key", "event_id"}` sorted by type, then state key, using
 * the room version's algorithm (v1, v2 or v2.1). A resolution failure (a
 * missing event, a cycle) prints `{"error", "step", "reason", "event_id"?}`
 * and exits 1; bad input exits 2.
 */
import type { Command } from "commander";
import { stateKeyOf, splitStateKey, tryParsePdu, type Pdu, type StateKey } from "../../core/events/index.js";
import { runNow } from "../../core/generator.js";
import type { EventId } from "../../core/ids/index.js";
import { mapSource, resolveState } from "../../core/state-res/index.js";
import { collect, failUsage, printJson, readJsonObjectOrExit, roomVersionOrExit } from "./io.js";
import { compareCodePoints } from "../../core/json/index.js";

export function registerResolveState(debug: Command): void {
  debug
    .command("resolve-state")
    .description("resolve the state sets on stdin with the room version's state resolution algorithm")
    .requiredOption("--room-version <n>", "the room version (1 to 12)")
    .option("--rejected <event_id>", "an event that was rejected on receipt (repeatable)", collect, [])
    .action(async (opts: { roomVersion: string; rejected: string[] }) => {
      const rules = roomVersionOrExit(opts.roomVersion);
      const input = await readJsonObjectOrExit();
      const { state_sets: setsRaw, events: eventsRaw } = input as { state_sets?: unknown; events?: unknown };
      if (!Array.isArray(setsRaw) || !setsRaw.every((s) => Array.isArray(s) && s.every((id) => typeof id === "string"))) {
        failUsage("state_sets: must be a list of lists of event ids");
      }
      if (!Array.isArray(eventsRaw)) failUsage("events: must be a list of events");
      const events = new Map<EventId, Pdu>();
      for (const [i, raw] of eventsRaw.entries()) {
        const p = tryParsePdu(raw, rules);
        if (!p.ok) failUsage(`events[${i}]: ${p.error.message}`);
        events.set(p.pdu.eventId, p.pdu);
      }
      const stateSets: Map<StateKey, EventId>[] = [];
      for (const [i, ids] of (setsRaw as string[][]).entries()) {
        const m = new Map<StateKey, EventId>();
        for (const id of ids) {
          const e = events.get(id as EventId);
          if (!e) {
            printJson({ error: "missing_event", step: "input", reason: `state_sets[${i}] names ${id}, which is not among the events`, event_id: id });
            process.exitCode = 1;
            return;
          }
          if (e.stateKey === undefined) failUsage(`state_sets[${i}]: ${id} is not a state event`);
          const k = stateKeyOf(e.type, e.stateKey);
          if (m.has(k)) failUsage(`state_sets[${i}]: two events for (${e.type}, ${JSON.stringify(e.stateKey)})`);
          m.set(k, e.eventId);
        }
        stateSets.push(m);
      }
      const rejected = new Set(opts.rejected as EventId[]);
      const r = runNow(resolveState(rules, stateSets, mapSource(events, { rejected })));
      if (!r.ok) {
        printJson({ error: r.error, step: r.step, reason: r.reason, ...(r.eventId ? { event_id: r.eventId } : {}) });
        process.exitCode = 1;
        return;
      }
      const out = [...r.state].map(([k, id]) => ({ ...splitStateKey(k), id }));
      out.sort((a, b) => compareCodePoints(a.type, b.type) || compareCodePoints(a.stateKey, b.stateKey));
      printJson(out.map((x) => ({ type: x.type, state_key: x.stateKey, event_id: x.id })));
    });
}
