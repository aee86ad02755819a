import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runDebug, type DebugRun } from "../../../test/harness/cli.js";
import { V2, V12 } from "../../core/room-versions/rules.js";
import { ruleNumbers } from "../../core/auth/numbering.js";
import { computeEventId } from "../../core/events/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { AuthKit, BOB, CAROL, DAN } from "../../../test/gen/auth-kit.js";


function run(args: string[], input: string): DebugRun {
  return runDebug(["auth-check", ...args], input);
}

describe("zion debug auth-check", () => {
  const n2 = ruleNumbers(V2);
  it("prints the rule that allows a join to a public room (room version 2)", () => {
    const k = new AuthKit(V2);
    const e = k.ev({ type: "m.room.member", sender: DAN, stateKey: DAN, content: { membership: "join" } });
    const auth = e.authEvents.map((id) => k.all.get(id)!.raw);
    const r = run(["--room-version", "2"], JSON.stringify({ event: e.raw, auth_events: auth }));
    assert.deepEqual(r.out, { allowed: true, rule: n2.joinPublic });
    assert.equal(r.code, 0);
  });

  it("prints the rule that refuses a ban from a user below the ban level, exit 1", () => {
    const k = new AuthKit(V2);
    const e = k.ev({ type: "m.room.member", sender: CAROL, stateKey: BOB, content: { membership: "ban" } });
    const r = run(["--room-version", "2"], JSON.stringify({ event: e.raw, auth_events: e.authEvents.map((id) => k.all.get(id)!.raw) }));
    assert.equal(r.code, 1);
    assert.equal((r.out as { rule: string }).rule, `${n2.ban}.3`);
    assert.equal((r.out as { allowed: boolean }).allowed, false);
  });

  it("checks against the list as room state with --as-state", () => {
    const k = new AuthKit(V2);
    const e = k.ev({ type: "m.room.message", sender: DAN, content: { body: "hi" } });
    const r = run(["--room-version", "2", "--as-state"], JSON.stringify({ event: e.raw, auth_events: [...k.state.values()].map((x) => x.raw) }));
    assert.equal(r.code, 1);
    assert.equal((r.out as { rule: string }).rule, n2.senderJoined);
  });

  it("takes the v12 create event from the list although events do not cite it", () => {
    const create: JsonObject = {
      type: "m.room.create", sender: "@ana:zion.test", state_key: "", content: { room_version: "12" },
      prev_events: [], auth_events: [], depth: 1, origin_server_ts: 1, hashes: { sha256: "x" }, signatures: { "zion.test": { "ed25519:a": "c2ln" } },
    };
    const createId = computeEventId(create, V12);
    const join: JsonObject = {
      type: "m.room.member", sender: "@ana:zion.test", state_key: "@ana:zion.test", content: { membership: "join" }, room_id: `!${createId.slice(1)}`,
      prev_events: [createId], auth_events: [], depth: 2, origin_server_ts: 2, hashes: { sha256: "x" }, signatures: { "zion.test": { "ed25519:a": "c2ln" } },
    };
    const n12 = ruleNumbers(V12);
    const ok = run(["--room-version", "12"], JSON.stringify({ event: join, auth_events: [create] }));
    assert.deepEqual(ok.out, { allowed: true, rule: `${n12.join}.1` });
    const missing = run(["--room-version", "12"], JSON.stringify({ event: join, auth_events: [] }));
    assert.equal((missing.out as { rule: string }).rule, n12.roomIdIsCreate);
    assert.equal(missing.code, 1);
  });

  it("exits 2 with a reason on input that is not JSON or lacks the event", () => {
    const a = run(["--room-version", "2"], "{nope");
    assert.equal(a.code, 2);
    assert.match(a.stderr, /not JSON/);
    const b = run(["--room-version", "2"], "{}");
    assert.equal(b.code, 2);
    const c = run(["--room-version", "99"], "{}");
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^--room-version "99": M_UNSUPPORTED_ROOM_VERSION, Zion knows room versions 1, 2/);
  });

  it("refuses an event that breaks the event format, naming the field", () => {
    const r = run(["--room-version", "2"], JSON.stringify({ event: { type: "m.room.message" }, auth_events: [] }));
    assert.equal(r.code, 1);
    assert.equal((r.out as { rule: string }).rule, "format");
  });
});
