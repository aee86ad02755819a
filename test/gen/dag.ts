/**
 * Builds a room DAG from a list of story events (id, type, sender, content,
 * prev ids), the way a server would: the state before each event is the
 * resolution of the states after its prev events, and its auth_events are
 * selected from that state. Used by the state-res fixtures.
 */
import { authEventTypesFor } from "../../src/core/auth/auth-events.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import { runNow } from "../../src/core/generator.js";
import type { EventId } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import type { RoomVersionRules } from "../../src/core/room-versions/rules.js";
import { resolveState } from "../../src/core/state-res/resolve.js";
import { mapSource } from "../../src/core/state-res/source.js";
import { makePdu } from "./pdu.js";

export interface StoryEvent {
  readonly id: string;
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content?: JsonObject;
  readonly prev: readonly string[];
  /** origin_server_ts; defaults to the event's position in the list. */
  readonly ts?: number;
}

export interface BuiltDag {
  readonly roomId: string;
  readonly events: Map<EventId, Pdu>;
  /** Story id -> event id. */
  readonly idOf: (storyId: string) => EventId;
  /** Story id -> state after that event. */
  readonly stateAfter: Map<string, Map<StateKey, EventId>>;
}

/** Event ids: `$id:zion.test` where ids are server-minted (v1-v2) or in the test harness generally; `$id` for v12 (no server part). */
export function buildDag(rules: RoomVersionRules, story: readonly StoryEvent[]): BuiltDag {
  const v12 = rules.auth.createEventIsRoomId;
  const idOf = (s: string): EventId => (v12 ? `$${s}` : `$${s}:zion.test`) as EventId;
  const create = story.find((e) => e.type === "m.room.create");
  if (!create) throw new Error("the story has no m.room.create event");
  const roomId = v12 ? `!${create.id}` : "!room:zion.test";
  const events = new Map<EventId, Pdu>();
  const stateAfter = new Map<string, Map<StateKey, EventId>>();
  const depthOf = new Map<string, number>();
  const src = mapSource(events);
  story.forEach((s, index) => {
    for (const p of s.prev) if (!stateAfter.has(p)) throw new Error(`${s.id}: prev event ${p} is not earlier in the story`);
    let before: Map<StateKey, EventId>;
    if (s.prev.length === 0) before = new Map();
    else if (s.prev.length === 1) before = new Map(stateAfter.get(s.prev[0]!)!);
    else {
      const r = runNow(resolveState(rules, s.prev.map((p) => stateAfter.get(p)!), src));
      if (!r.ok) throw new Error(`${s.id}: resolving the state before failed: ${r.reason}`);
      before = r.state;
    }
    const base = {
      id: idOf(s.id),
      roomId,
      type: s.type,
      sender: s.sender,
      stateKey: s.state_key,
      content: s.content ?? {},
      prev: s.prev.map(idOf),
      depth: 1 + Math.max(0, ...s.prev.map((p) => depthOf.get(p)!)),
      ts: s.ts ?? index,
    };
    const draft = makePdu(rules, base);
    const auth = authEventTypesFor(draft, { includeCreate: !v12 })
      .map((k) => before.get(k))
      .filter((x): x is EventId => x !== undefined);
    const pdu = makePdu(rules, { ...base, auth });
    events.set(pdu.eventId, pdu);
    depthOf.set(s.id, base.depth);
    const after = new Map(before);
    if (s.state_key !== undefined) after.set(stateKeyOf(s.type, s.state_key), pdu.eventId);
    stateAfter.set(s.id, after);
  });
  return { roomId, events, idOf, stateAfter };
}
