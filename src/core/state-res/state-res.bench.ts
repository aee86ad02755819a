/**
 * State resolution and auth benchmarks (printed, never asserted):
 *   node dist/src/core/state-res/state-res.bench.js   (or: npm run bench state-res)
 * A generated room (test/gen/room-dag.ts, seed 7): 10,000 members, 20,000
 * state events on the trunk's auth DAG, two forks whose state maps conflict
 * on about 1,000 events.
 *   - v2 and v2.1 on the same room (room version 12 events; v2 runs with the
 *     same auth rules and only the algorithm switched), and v2 on a room
 *     version 11 room built from the same seed;
 *   - auth-checking 10,000 events of the send_join-sized state against their
 *     own auth events, and 10,000 against the state.
 */
import { checkAgainstState, checkAuthEvents } from "../auth/authorize.js";
import type { Pdu } from "../events/pdu.js";
import { runNow } from "../generator.js";
import { V12 } from "../room-versions/rules.js";
import { resolveState } from "./resolve.js";
import { generateRoomDag, type RoomDag } from "../../../test/gen/room-dag.js";

const RUNS = 9;

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function measure(fn: () => void): { median: number; min: number } {
  for (let i = 0; i < 3; i++) fn(); // warm-up (JIT)
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(time(fn));
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)]!, min: xs[0]! };
}

const fmt = (x: { median: number; min: number }): string => `median ${x.median.toFixed(1)} ms, min ${x.min.toFixed(1)} ms`;

function describeRoom(room: RoomDag): string {
  return `${room.stats.members} members, ${room.stats.trunkStateEvents} trunk state events, ${room.stats.events} events, ${room.base.size} state entries, ${room.forks.length} forks, ${room.stats.conflicted} conflicted`;
}

const sizes = { seed: 7, members: 10_000, stateEvents: 20_000, conflicted: 1_000 };
let t = performance.now();
const room12 = generateRoomDag({ ...sizes, roomVersion: "12" });
console.log(`generated room v12 in ${(performance.now() - t).toFixed(0)} ms: ${describeRoom(room12)}`);
t = performance.now();
const room11 = generateRoomDag({ ...sizes, roomVersion: "11" });
console.log(`generated room v11 in ${(performance.now() - t).toFixed(0)} ms: ${describeRoom(room11)}`);

const v2Rules = { ...V12, stateRes: "v2" as const };
const check = (r: ReturnType<typeof runNow<unknown>>): void => {
  if (!(r as { ok: boolean }).ok) throw new Error(`resolution failed: ${JSON.stringify(r)}`);
};
const v2on12 = measure(() => check(runNow(resolveState(v2Rules, room12.forks, room12.source))));
const v21on12 = measure(() => check(runNow(resolveState(V12, room12.forks, room12.source))));
const v2on11 = measure(() => check(runNow(resolveState(room11.rules, room11.forks, room11.source))));
console.log(`state-res v2   (room v12 events, v2 algorithm): ${fmt(v2on12)}`);
console.log(`state-res v2.1 (room v12 events):               ${fmt(v21on12)}`);
console.log(`state-res v2.1 / v2 ratio (medians):            ${(v21on12.median / v2on12.median).toFixed(2)}x`);
console.log(`state-res v2   (room v11 room, same seed):      ${fmt(v2on11)}`);

// Auth: the 10,000 member events of the state, each against its own auth events (as a send_join response is checked).
const members: Pdu[] = [];
for (const id of room11.base.values()) {
  const e = room11.events.get(id)!;
  if (e.type === "m.room.member") members.push(e);
  if (members.length === 10_000) break;
}
const authOf = new Map(members.map((e) => [e.eventId, e.authEvents.map((a) => room11.events.get(a)!)]));
let refused = 0;
const authCheck = measure(() => {
  refused = 0;
  for (const e of members) if (!checkAuthEvents(e, authOf.get(e.eventId)!, room11.rules).allowed) refused++;
});
console.log(`auth-check ${members.length} state events against their auth events: ${fmt(authCheck)} (${refused} refused)`);
const state = new Map([...room11.base].map(([k, id]) => [k, room11.events.get(id)!]));
const againstState = measure(() => {
  for (const e of members) checkAgainstState(e, state, room11.rules);
});
console.log(`auth-check ${members.length} events against the ${state.size}-entry state:    ${fmt(againstState)}`);
