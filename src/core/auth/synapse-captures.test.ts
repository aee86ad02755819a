/**
 * The rooms captured from a real Synapse (test/fixtures/synapse: one of every room version 1-12, and one of its
 * default version; see its README) through Zion's pure auth rules, without a Synapse: each event, in Synapse's
 * stream order, is allowed against its own auth events (and, in room version 12, the create event the room id
 * names) and against the state before it, which the events before it build (the captured rooms are linear); a
 * message from a user who never joined is refused.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parsePdu } from "../events/parse.js";
import { stateKeyOf, type Pdu, type StateKey } from "../events/pdu.js";
import type { EventId } from "../ids/index.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { checkAgainstState, checkAuthEvents } from "./authorize.js";

const dir = fileURLToPath(new URL("../../../../test/fixtures/synapse/", import.meta.url));
interface EventsFile { room_version: string; events: { event_id: string; pdu: JsonObject }[] }
const eventFiles = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => ({ name: f, json: JSON.parse(readFileSync(dir + f, "utf8")) as Record<string, unknown> }))
  .filter((f) => Array.isArray(f.json["events"]) && typeof f.json["room_version"] === "string");

describe("Synapse-captured PDUs through the auth rules", () => {
  it("has a captured room of every room version 1-12", () => {
    const versions = new Set(eventFiles.map((f) => (f.json as unknown as EventsFile).room_version));
    for (let v = 1; v <= 12; v++) assert.ok(versions.has(String(v)), `no captured room of version ${v}`);
  });

  for (const f of eventFiles) {
    const data = f.json as unknown as EventsFile;
    const rules = roomVersion(data.room_version);
    const pdus = data.events.map((e) => parsePdu(e.pdu, rules, { eventId: e.event_id as EventId }));

    it(`${f.name}: every event is allowed against its auth events and against the state before it (room version ${data.room_version})`, () => {
      const seen: Pdu[] = [];
      const state = new Map<StateKey, Pdu>();
      for (const pdu of pdus) {
        const byAuthEvents = checkAuthEvents(pdu, seen, rules);
        assert.equal(byAuthEvents.allowed, true, `${pdu.eventId} (${pdu.type}) against its auth events: ${byAuthEvents.allowed ? "" : byAuthEvents.reason}`);
        const byState = checkAgainstState(pdu, state, rules);
        assert.equal(byState.allowed, true, `${pdu.eventId} (${pdu.type}) against the state before it: ${byState.allowed ? "" : byState.reason}`);
        seen.push(pdu);
        if (typeof pdu.stateKey === "string") state.set(stateKeyOf(pdu.type, pdu.stateKey), pdu);
      }
    });

    it(`${f.name}: a message from a user who never joined is refused against the room's final state`, () => {
      const state = new Map<StateKey, Pdu>();
      for (const pdu of pdus) if (typeof pdu.stateKey === "string") state.set(stateKeyOf(pdu.type, pdu.stateKey), pdu);
      const msg = pdus.find((p) => p.type === "m.room.message")!;
      const stranger = parsePdu({ ...data.events.find((e) => e.event_id === msg.eventId)!.pdu, sender: `@stranger:${msg.sender.split(":")[1]}` }, rules);
      const v = checkAgainstState(stranger, state, rules);
      assert.equal(v.allowed, false);
    });
  }
});
