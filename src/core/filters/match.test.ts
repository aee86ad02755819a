/** Applying filters: https://spec.matrix.org/v1.19/client-server-api/#filtering */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../json/types.js";
import { parseDottedPath } from "../events/dotted-path.js";
import { parseEventFilter, parseFilter, parseRoomEventFilter } from "./filter.js";
import { effectiveLimit, eventFilterMatches, lazyLoading, projectEvent, roomEventFilterMatches, roomFilterIncludes } from "./match.js";

const e = (type: string, sender = "@a:x.org") => ({ type, sender });

describe("eventFilterMatches", () => {
  it("includes every type when types is absent and none when it is empty", () => {
    assert.ok(eventFilterMatches(parseEventFilter({}), e("m.room.message")));
    assert.ok(!eventFilterMatches(parseEventFilter({ types: [] }), e("m.room.message")));
  });
  it("treats * in types as any sequence of characters", () => {
    const f = parseEventFilter({ types: ["m.room.*"] });
    assert.ok(eventFilterMatches(f, e("m.room.message")));
    assert.ok(eventFilterMatches(f, e("m.room.")));
    assert.ok(!eventFilterMatches(f, e("m.roomy")));
    assert.ok(eventFilterMatches(parseEventFilter({ types: ["*"] }), e("anything")));
    assert.ok(eventFilterMatches(parseEventFilter({ types: ["m.*.member"] }), e("m.room.member")));
  });
  it("matches types exactly and case-sensitively, with ? and . literal", () => {
    assert.ok(!eventFilterMatches(parseEventFilter({ types: ["M.room.message"] }), e("m.room.message")));
    assert.ok(!eventFilterMatches(parseEventFilter({ types: ["m.room.messag?"] }), e("m.room.message")));
    assert.ok(!eventFilterMatches(parseEventFilter({ types: ["m.room.message"] }), e("m.room.messages")));
  });
  it("lets not_types win over types", () => {
    const f = parseEventFilter({ types: ["m.room.*"], not_types: ["m.room.member"] });
    assert.ok(!eventFilterMatches(f, e("m.room.member")));
    assert.ok(eventFilterMatches(f, e("m.room.name")));
    assert.ok(!eventFilterMatches(parseEventFilter({ not_types: ["*"] }), e("m.room.name")));
  });
  it("filters senders and lets not_senders win over senders", () => {
    const f = parseEventFilter({ senders: ["@a:x.org", "@b:x.org"], not_senders: ["@b:x.org"] });
    assert.ok(eventFilterMatches(f, e("t", "@a:x.org")));
    assert.ok(!eventFilterMatches(f, e("t", "@b:x.org")));
    assert.ok(!eventFilterMatches(f, e("t", "@c:x.org")));
    assert.ok(!eventFilterMatches(parseEventFilter({ not_senders: ["@c:x.org"] }), e("t", "@c:x.org")));
  });
  it("does not let a sender-less item (account data) through a senders list", () => {
    assert.ok(!eventFilterMatches(parseEventFilter({ senders: ["@a:x.org"] }), { type: "m.tag" }));
    assert.ok(eventFilterMatches(parseEventFilter({ not_senders: ["@a:x.org"] }), { type: "m.tag" }));
  });
});

describe("roomEventFilterMatches", () => {
  it("filters rooms and lets not_rooms win over rooms", () => {
    const f = parseRoomEventFilter({ rooms: ["!a:x.org", "!b:x.org"], not_rooms: ["!b:x.org"] });
    assert.ok(roomEventFilterMatches(f, { type: "t", room_id: "!a:x.org" }));
    assert.ok(!roomEventFilterMatches(f, { type: "t", room_id: "!b:x.org" }));
    assert.ok(!roomEventFilterMatches(f, { type: "t", room_id: "!c:x.org" }));
  });
  it("contains_url true keeps only events whose content has url, false only those without", () => {
    const withUrl = { type: "m.room.message", content: { url: "mxc://x/y" } };
    const without = { type: "m.room.message", content: { body: "x" } };
    assert.deepEqual([roomEventFilterMatches(parseRoomEventFilter({ contains_url: true }), withUrl), roomEventFilterMatches(parseRoomEventFilter({ contains_url: true }), without)], [true, false]);
    assert.deepEqual([roomEventFilterMatches(parseRoomEventFilter({ contains_url: false }), withUrl), roomEventFilterMatches(parseRoomEventFilter({ contains_url: false }), without)], [false, true]);
    assert.ok(roomEventFilterMatches(parseRoomEventFilter({}), withUrl) && roomEventFilterMatches(parseRoomEventFilter({}), without));
  });
  it("applies the event filter's types and senders too", () => {
    assert.ok(!roomEventFilterMatches(parseRoomEventFilter({ not_types: ["m.room.message"] }), { type: "m.room.message" }));
  });
});

describe("roomFilterIncludes", () => {
  it("applies RoomFilter.rooms and not_rooms before the inner filters", () => {
    const f = parseFilter({ room: { rooms: ["!a:x.org"], not_rooms: ["!a:x.org"] } }).room;
    assert.ok(!roomFilterIncludes(f, "!a:x.org"));
    assert.ok(roomFilterIncludes(parseFilter({}).room, "!z:x.org"));
    assert.ok(!roomFilterIncludes(parseFilter({ room: { rooms: [] } }).room, "!z:x.org"));
  });
});

describe("effectiveLimit", () => {
  it("uses the endpoint's default when no limit is given and caps a larger one", () => {
    assert.equal(effectiveLimit(parseEventFilter({}), { default: 10, max: 100 }), 10);
    assert.equal(effectiveLimit(parseEventFilter({ limit: 30 }), { default: 10, max: 100 }), 30);
    assert.equal(effectiveLimit(parseEventFilter({ limit: 1_000_000 }), { default: 10, max: 100 }), 100);
  });
});

describe("lazyLoading", () => {
  it("reports include_redundant_members only together with lazy_load_members", () => {
    assert.deepEqual(lazyLoading(parseRoomEventFilter({ include_redundant_members: true })), { lazy: false, redundant: false });
    assert.deepEqual(lazyLoading(parseRoomEventFilter({ lazy_load_members: true })), { lazy: true, redundant: false });
    assert.deepEqual(lazyLoading(parseRoomEventFilter({ lazy_load_members: true, include_redundant_members: true })), { lazy: true, redundant: true });
  });
});

describe("projectEvent", () => {
  const ev: JsonObject = {
    type: "m.room.message",
    sender: "@a:x.org",
    content: { body: "hi", msgtype: "m.text", "m.relates_to": { rel_type: "m.thread", event_id: "$t" } },
    unsigned: { age: 5 },
  };
  const p = (...fields: string[]) => projectEvent(ev, fields.map(parseDottedPath));
  it("keeps only the listed top-level fields", () => assert.deepEqual(p("type", "sender"), { type: "m.room.message", sender: "@a:x.org" }));
  it("keeps a nested field under its parents (content.body)", () => assert.deepEqual(p("content.body"), { content: { body: "hi" } }));
  it("follows escaped dots (content.m\\.relates_to.rel_type)", () =>
    assert.deepEqual(p("content.m\\.relates_to.rel_type"), { content: { "m.relates_to": { rel_type: "m.thread" } } }));
  it("keeps a whole object named by a shorter path, in either order", () => {
    assert.deepEqual(p("content", "content.body"), { content: ev["content"] });
    assert.deepEqual(p("content.body", "content"), { content: ev["content"] });
  });
  it("merges siblings under one parent", () => assert.deepEqual(p("content.body", "content.msgtype"), { content: { body: "hi", msgtype: "m.text" } }));
  it("skips absent fields and paths through non-objects", () => assert.deepEqual(p("state_key", "content.body.length", "type"), { type: "m.room.message" }));
  it("returns the event unchanged when event_fields is absent, and an empty object for an empty list", () => {
    assert.equal(projectEvent(ev, undefined), ev);
    assert.deepEqual(projectEvent(ev, []), {});
  });
  it("never changes the event it projects", () => {
    const before = JSON.stringify(ev);
    p("content", "content.body", "content.extra.x");
    assert.equal(JSON.stringify(ev), before);
  });
  it("keeps a field named __proto__ as a field", () => {
    const odd = JSON.parse('{"content":{"__proto__":{"x":1}}}') as JsonObject;
    const out = projectEvent(odd, [["content", "__proto__", "x"]]);
    assert.equal(JSON.stringify(out), '{"content":{"__proto__":{"x":1}}}');
  });
});
