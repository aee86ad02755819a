/** Receipt checks 1-3 and the batch API. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../json/types.js";
import { roomVersion, type RoomVersionRules } from "../room-versions/rules.js";
import { buildPdu, hashAndSignEvent, signEvent } from "./build.js";
import { checkPdu, keysNeeded, requiredSignatureServers, verifyEventsBatch, verifyEventsPausable, VERIFY_PAUSE_EVERY } from "./check.js";
import { runYielding } from "../generator.js";
import { redactEvent } from "./redact.js";
import { lookupOf, testKey } from "./test-keys.js";

const aKey = testKey("a.test");
const bKey = testKey("b.test");
const A = { serverName: "a.test", key: aKey };
const B = { serverName: "b.test", key: bKey };
const lookup = lookupOf([{ server: "a.test", key: aKey }, { server: "b.test", key: bKey }]);

function msg(rules: RoomVersionRules, body = "hi", ts = 1000): JsonObject {
  return buildPdu(rules, {
    type: "m.room.message", sender: "@alice:a.test", roomId: "!r:a.test", content: { body },
    prevEvents: [], authEvents: [], depth: 2, originServerTs: ts,
    ...(rules.eventId === "server-minted" ? { eventId: `$${body}:a.test` } : {}),
  }, A).raw;
}

const checks = (v: { failures: readonly { check: string }[] }) => v.failures.map((f) => f.check);

describe("checkPdu", () => {
  const V10 = roomVersion("10");

  it("accepts a good event with no failures", () => {
    const v = checkPdu(msg(V10), V10, lookup);
    assert.equal(v.ok, true);
    assert.equal(v.redacted, false);
    assert.deepEqual(v.failures, []);
    assert.equal(v.pdu?.content["body"], "hi");
  });

  it("redacts (does not drop) an event whose non-essential content was changed: the content hash fails (step 3)", () => {
    const raw = { ...msg(V10), content: { body: "changed" } };
    const v = checkPdu(raw, V10, lookup);
    assert.equal(v.ok, true);
    assert.equal(v.redacted, true);
    assert.deepEqual(checks(v), ["content_hash"]);
    assert.equal(v.failures[0]!.fatal, false);
    assert.deepEqual(v.pdu?.content, {});
    assert.equal(v.eventId, checkPdu(msg(V10), V10, lookup).eventId);
  });

  it("accepts an already redacted copy of an event the same way", () => {
    const v = checkPdu(redactEvent(msg(V10), V10), V10, lookup);
    assert.equal(v.ok, true);
    assert.equal(v.redacted, true);
  });

  it("drops an event whose essential fields were changed: the signature fails (step 2)", () => {
    const v = checkPdu({ ...msg(V10), depth: 3 }, V10, lookup);
    assert.equal(v.ok, false);
    assert.equal(v.pdu, undefined);
    assert.ok(checks(v).includes("signatures"));
    assert.match(v.failures.find((f) => f.check === "signatures")!.reason, /does not match/);
  });

  it("drops an event signed by another server than the sender's", () => {
    const raw = hashAndSignEvent({ ...msg(V10), signatures: {} }, V10, B);
    const v = checkPdu(raw, V10, lookup);
    assert.equal(v.ok, false);
    assert.match(v.failures[0]!.reason, /not signed by a.test/);
  });

  it("drops an event whose signing key is unknown, saying so", () => {
    const v = checkPdu(msg(V10), V10, () => undefined);
    assert.equal(v.ok, false);
    assert.match(v.failures[0]!.reason, /no known key of a.test/);
  });

  it("names the format failure and stops there", () => {
    const v = checkPdu({ ...msg(V10), sender: 5 }, V10, lookup);
    assert.deepEqual(checks(v), ["format"]);
    assert.match(v.failures[0]!.reason, /^sender: must be a string/);
    assert.deepEqual(checks(checkPdu("x", V10, lookup)), ["format"]);
    assert.deepEqual(checks(checkPdu({ ...msg(V10), depth: 1.5 }, V10, lookup)), ["format"]);
  });

  it("refuses a received PDU with 21 prev_events or 11 auth_events at the format check, naming the limit", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `$e${i}`);
    const many = checkPdu({ ...msg(V10), prev_events: ids(21) }, V10, lookup);
    assert.deepEqual(checks(many), ["format"]);
    assert.match(many.failures[0]!.reason, /^prev_events: lists 21 events, over the limit of 20/);
    const auth = checkPdu({ ...msg(V10), auth_events: ids(11) }, V10, lookup);
    assert.match(auth.failures[0]!.reason, /^auth_events: lists 11 events, over the limit of 10/);
  });

  it("enforces key validity at origin_server_ts from v5 but not before (rooms/v5 signing requirements)", () => {
    const expiring = lookupOf([{ server: "a.test", key: aKey, validUntilTs: 500 }]);
    const V4 = roomVersion("4");
    const V5 = roomVersion("5");
    assert.equal(checkPdu(msg(V4, "x", 1000), V4, expiring).ok, true);
    const v = checkPdu(msg(V5, "x", 1000), V5, expiring);
    assert.equal(v.ok, false);
    assert.match(v.failures[0]!.reason, /expired at 500, before 1000/);
    assert.equal(checkPdu(msg(V5, "x", 400), V5, expiring).ok, true);
  });

  it("reports a different event id than the one asked for, and a different room", () => {
    const v = checkPdu(msg(V10), V10, lookup, { eventId: "$other", roomId: "!elsewhere:a.test" });
    assert.deepEqual(checks(v).sort(), ["event_id", "room_id"]);
    assert.equal(v.ok, false);
  });
});

describe("requiredSignatureServers", () => {
  it("v1-v2 also need the event_id's server when it differs from the sender's", () => {
    const V1 = roomVersion("1");
    const raw = buildPdu(V1, { type: "m.room.message", sender: "@alice:a.test", roomId: "!r:a.test", content: {}, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, eventId: "$e:b.test" }, A).raw;
    assert.deepEqual(requiredSignatureServers(raw, V1).sort(), ["a.test", "b.test"]);
    const v = checkPdu(raw, V1, lookup);
    assert.equal(v.ok, false);
    assert.match(v.failures[0]!.reason, /not signed by b.test/);
    assert.equal(checkPdu(signEvent(raw, V1, B), V1, lookup).ok, true);
    // v3+ ignore the event_id field
    assert.deepEqual(requiredSignatureServers({ ...raw, event_id: "$e:b.test" }, roomVersion("3")), ["a.test"]);
  });

  it("v8+ restricted joins also need the authorising user's server", () => {
    const V8 = roomVersion("8");
    const join = buildPdu(V8, {
      type: "m.room.member", stateKey: "@bob:c.test", sender: "@bob:c.test", roomId: "!r:a.test",
      content: { membership: "join", join_authorised_via_users_server: "@alice:a.test" },
      prevEvents: [], authEvents: [], depth: 3, originServerTs: 1,
    }, { serverName: "c.test", key: testKey("c.test") }).raw;
    assert.deepEqual(requiredSignatureServers(join, V8).sort(), ["a.test", "c.test"]);
    assert.deepEqual(requiredSignatureServers(join, roomVersion("7")), ["c.test"]);
    const withC = lookupOf([{ server: "a.test", key: aKey }, { server: "c.test", key: testKey("c.test") }]);
    assert.equal(checkPdu(join, V8, withC).ok, false);
    assert.equal(checkPdu(signEvent(join, V8, A), V8, withC).ok, true);
    // auth rule 4.2 applies to any membership carrying the key, so its signature is checked for a leave too
    assert.deepEqual(requiredSignatureServers({ ...join, content: { membership: "leave", join_authorised_via_users_server: "@alice:a.test" } }, V8).sort(), ["a.test", "c.test"]);
  });

  it("third-party invites do not need the sender's server", () => {
    const raw: JsonObject = { type: "m.room.member", sender: "@alice:a.test", state_key: "@bob:b.test", content: { membership: "invite", third_party_invite: { signed: {} } } };
    assert.deepEqual(requiredSignatureServers(raw, roomVersion("10")), []);
    assert.deepEqual(requiredSignatureServers({ ...raw, content: { membership: "invite" } }, roomVersion("10")), ["a.test"]);
  });
});

describe("verifyEventsBatch", () => {
  const V11 = roomVersion("11");

  it("returns one verdict per event, in order, each naming its own failures", () => {
    const good = msg(V11, "one");
    const tamperedContent = { ...msg(V11, "two"), content: { body: "evil" } };
    const tamperedEssential = { ...msg(V11, "three"), origin_server_ts: 5 };
    const malformed = { ...msg(V11, "four"), prev_events: "no" };
    const fifth = msg(V11, "five");
    const verdicts = verifyEventsBatch(
      [good, tamperedContent, tamperedEssential, malformed, fifth].map((raw) => ({ raw, rules: V11 })),
      lookup,
    );
    assert.deepEqual(verdicts.map((v) => v.ok), [true, true, false, false, true]);
    assert.deepEqual(verdicts.map((v) => checks(v)), [[], ["content_hash"], ["signatures", "content_hash"], ["format"], []]);
    assert.equal(verdicts[1]!.redacted, true);
  });

  it("asks the key lookup once per (server, key id) across the batch", () => {
    let calls = 0;
    const counting = (s: Parameters<typeof lookup>[0], k: Parameters<typeof lookup>[1]) => { calls++; return lookup(s, k); };
    const events = Array.from({ length: 50 }, (_, i) => ({ raw: msg(V11, `m${i}`), rules: V11 }));
    const verdicts = verifyEventsBatch(events, counting);
    assert.equal(verdicts.length, 50);
    assert.ok(verdicts.every((v) => v.ok));
    assert.equal(calls, 1);
  });

  it("pauses every VERIFY_PAUSE_EVERY events when run as a generator, with the same verdicts", async () => {
    const events = Array.from({ length: 2 * VERIFY_PAUSE_EVERY + 1 }, (_, i) => ({ raw: i === 70 ? { ...msg(V11, `p${i}`), depth: 0 } : msg(V11, `p${i}`), rules: V11 }));
    let pauses = 0;
    const verdicts = await runYielding(verifyEventsPausable(events, lookup), async () => { pauses++; });
    assert.equal(pauses, 2);
    assert.deepEqual(verdicts.map((v) => v.ok), verifyEventsBatch(events, lookup).map((v) => v.ok));
    assert.equal(verdicts.filter((v) => !v.ok).length, 1);
    assert.equal(verdicts[70]!.ok, false);
  });

  it("stays correct when the key lookup itself verifies events (no shared buffer is live across caller code)", () => {
    const inner = msg(V11, "inner");
    const reentrant = (server: Parameters<typeof lookup>[0], keyId: Parameters<typeof lookup>[1]) => {
      assert.equal(checkPdu(inner, V11, lookup).ok, true);
      return lookup(server, keyId);
    };
    const verdicts = verifyEventsBatch([msg(V11, "outer1"), msg(V11, "outer2-with-a-longer-body")].map((raw) => ({ raw, rules: V11 })), reentrant);
    assert.deepEqual(verdicts.map((v) => v.ok), [true, true]);
    assert.equal(checkPdu(msg(V11, "outer3"), V11, reentrant).ok, true);
  });

  it("handles events of different room versions in one batch", () => {
    const V3 = roomVersion("3");
    const verdicts = verifyEventsBatch([{ raw: msg(V3), rules: V3 }, { raw: msg(V11), rules: V11 }], lookup);
    assert.ok(verdicts.every((v) => v.ok));
    assert.notEqual(verdicts[0]!.eventId, verdicts[1]!.eventId);
  });

  it("keysNeeded lists the keys to fetch before verifying", () => {
    const raw = signEvent(msg(V11), V11, B);
    const need = keysNeeded([{ raw, rules: V11 }, { raw: "junk", rules: V11 }]);
    assert.deepEqual([...need.keys()], ["a.test"]);
    assert.deepEqual([...need.get("a.test")!], [aKey.keyId]);
  });
});
