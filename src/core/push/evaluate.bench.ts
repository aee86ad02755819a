/**
 * Push rule evaluation cost: the rooms pipeline evaluates every new event for
 * every local member, so this prints evaluations per second of the default
 * rules, and the worst case of a hostile content rule against a 64 KiB body.
 * Prints figures only; never asserts time.
 *
 * Run: npm run bench -- push/evaluate
 */
import type { UserId } from "../ids/index.js";
import type { JsonObject } from "../json/types.js";
import { evaluatePushRules, type PushContext } from "./evaluate.js";
import { defaultPushRuleset } from "./rules.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, putPushRule } from "./ruleset.js";

const words = ["matrix", "room", "lunch", "hello", "résumé", "🎉", "federation", "state", "tea", "time"];
function body(n: number, seed: number): string {
  let out = "";
  let x = seed;
  while (out.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out += words[x % words.length] + " ";
  }
  return out.slice(0, n);
}

const USERS = 200;
const EVENTS = 500;
const users = Array.from({ length: USERS }, (_, i) => `@user${i}:bench.test` as UserId);
const rulesets = users.map((u) => defaultPushRuleset(u));
const events: JsonObject[] = Array.from({ length: EVENTS }, (_, i) => ({
  type: "m.room.message",
  sender: "@sender:bench.test",
  room_id: "!room:bench.test",
  content: { msgtype: "m.text", body: body(200 + (i % 7) * 200, i) },
}));

function seconds(f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

let notified = 0;
const s = seconds(() => {
  for (const e of events) {
    for (let u = 0; u < USERS; u++) {
      const ctx: PushContext = { userId: users[u]!, displayName: `User ${u}`, memberCount: USERS, senderPowerLevel: 0, notificationPowerLevels: {} };
      if (evaluatePushRules(rulesets[u]!, e, ctx)?.notify) notified++;
    }
  }
});
console.log(`default rules, ${USERS} users x ${EVENTS} messages (200-1,400 character bodies):`);
console.log(`  ${Math.round((USERS * EVENTS) / s).toLocaleString("en-US")} evaluations/s (${notified} notifications)`);

const owner = { userId: users[0]! };
const hostile = putPushRule(NO_USER_PUSH_RULES, { kind: "content", ruleId: "stars", body: { pattern: "*a*a*a*a*a*a*a*a*a*a*b", actions: ["notify"] } });
if (!hostile.ok) throw hostile.error;
const hostileSet = effectivePushRuleset(owner, hostile.value);
const big: JsonObject = { type: "m.room.message", sender: "@s:bench.test", room_id: "!r:bench.test", content: { msgtype: "m.text", body: "a".repeat(64 * 1024) } };
const ctx0: PushContext = { userId: users[0]!, displayName: null, memberCount: 3, senderPowerLevel: 0, notificationPowerLevels: {} };
const h = seconds(() => evaluatePushRules(hostileSet, big, ctx0));
console.log(`hostile content rule "*a*a*a*a*a*a*a*a*a*a*b" against a 64 KiB body of "a": ${(h * 1000).toFixed(1)} ms for one evaluation`);
