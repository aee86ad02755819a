/** Filter parsing: https://spec.matrix.org/v1.19/client-server-api/#filtering */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { thrownMatrixError } from "../thrown-matrix-error.js";
import { EMPTY_FILTER, MAX_FILTER_LIST, parseFilter, parseRoomEventFilter } from "./filter.js";

function refuses(raw: unknown, errcode: string, field: RegExp, parse: (r: unknown) => unknown = parseFilter): void {
  const e = thrownMatrixError(() => parse(raw));
  assert.deepEqual([e.errcode, e.status], [errcode, 400]);
  assert.match(e.message, field);
}

describe("parseFilter", () => {
  it("parses the spec's example filter", () => {
    const f = parseFilter({
      room: {
        state: { types: ["m.room.*"], not_rooms: ["!726s6s6q:example.com"] },
        timeline: { limit: 10, types: ["m.room.message"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
        ephemeral: { types: ["m.receipt", "m.typing"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
      },
      presence: { types: ["m.presence"], not_senders: ["@alice:example.com"] },
      event_format: "client",
      event_fields: ["type", "content", "sender"],
    });
    assert.equal(f.room.timeline.limit, 10);
    assert.deepEqual(f.room.state.types, ["m.room.*"]);
    assert.deepEqual(f.room.timeline.not_senders, ["@spam:example.com"]);
    assert.deepEqual(f.presence.not_senders, ["@alice:example.com"]);
    assert.deepEqual(f.event_fields, [["type"], ["content"], ["sender"]]);
    assert.equal(f.room.include_leave, false);
  });
  it("defaults everything when empty: client format, no limits, no lazy loading, absent include lists", () => {
    assert.equal(EMPTY_FILTER.event_format, "client");
    assert.equal(EMPTY_FILTER.event_fields, undefined);
    assert.equal(EMPTY_FILTER.room.timeline.limit, undefined);
    assert.equal(EMPTY_FILTER.room.timeline.types, undefined);
    assert.equal(EMPTY_FILTER.room.rooms, undefined);
    assert.equal(EMPTY_FILTER.room.state.lazy_load_members, false);
    assert.equal(EMPTY_FILTER.room.state.contains_url, undefined);
  });
  it("parses event_fields as dotted paths with escapes", () => {
    assert.deepEqual(parseFilter({ event_fields: ["content.m\\.relates_to", "a\\\\b"] }).event_fields, [["content", "m.relates_to"], ["a\\b"]]);
  });
  it("reads lazy_load_members, include_redundant_members, contains_url and include_leave", () => {
    const f = parseFilter({ room: { include_leave: true, state: { lazy_load_members: true, include_redundant_members: true }, timeline: { contains_url: false } } });
    assert.deepEqual([f.room.include_leave, f.room.state.lazy_load_members, f.room.state.include_redundant_members, f.room.timeline.contains_url], [true, true, true, false]);
  });
  it("ignores unknown keys", () => assert.ok(parseFilter({ "org.example.x": 1, room: { timeline: { "org.matrix.msc0000": true } } })));
  it("refuses a non-object with M_BAD_JSON", () => {
    refuses([], "M_BAD_JSON", /filter/);
    refuses("{}", "M_BAD_JSON", /filter/);
    refuses({ room: [] }, "M_BAD_JSON", /^room:/);
    refuses({ room: { timeline: 3 } }, "M_BAD_JSON", /room\.timeline/);
  });
  it("refuses wrong types with M_BAD_JSON naming the field", () => {
    refuses({ room: { timeline: { limit: "10" } } }, "M_BAD_JSON", /room\.timeline\.limit/);
    refuses({ room: { timeline: { limit: 1.5 } } }, "M_BAD_JSON", /room\.timeline\.limit/);
    refuses({ room: { state: { types: "m.room.name" } } }, "M_BAD_JSON", /room\.state\.types/);
    refuses({ room: { state: { not_types: [1] } } }, "M_BAD_JSON", /room\.state\.not_types\[0\]/);
    refuses({ room: { state: { lazy_load_members: "true" } } }, "M_BAD_JSON", /room\.state\.lazy_load_members/);
    refuses({ room: { include_leave: 1 } }, "M_BAD_JSON", /room\.include_leave/);
    refuses({ presence: { senders: [null] } }, "M_BAD_JSON", /presence\.senders\[0\]/);
    refuses({ event_fields: "type" }, "M_BAD_JSON", /event_fields/);
  });
  it("refuses out-of-range values with M_INVALID_PARAM naming the field", () => {
    refuses({ room: { timeline: { limit: 0 } } }, "M_INVALID_PARAM", /room\.timeline\.limit/);
    refuses({ room: { timeline: { limit: -5 } } }, "M_INVALID_PARAM", /room\.timeline\.limit/);
    refuses({ event_format: "xml" }, "M_INVALID_PARAM", /event_format/);
    refuses({ room: { rooms: ["#alias:x.org"] } }, "M_INVALID_PARAM", /room\.rooms\[0\]/);
    refuses({ room: { timeline: { not_rooms: ["!ok:x.org", "nope"] } } }, "M_INVALID_PARAM", /room\.timeline\.not_rooms\[1\]/);
    refuses({ account_data: { not_senders: ["alice"] } }, "M_INVALID_PARAM", /account_data\.not_senders\[0\]/);
    refuses({ room: { timeline: { types: Array(MAX_FILTER_LIST + 1).fill("a") } } }, "M_INVALID_PARAM", /room\.timeline\.types/);
  });
});

describe("parseRoomEventFilter", () => {
  it("parses the /messages filter with rooms and contains_url", () => {
    const f = parseRoomEventFilter({ rooms: ["!a:x.org"], contains_url: true, limit: 5 });
    assert.deepEqual([f.rooms, f.contains_url, f.limit], [["!a:x.org"], true, 5]);
  });
  it("names fields under the path it is given", () => {
    refuses({ limit: "x" }, "M_BAD_JSON", /^filter\.limit/, (r) => parseRoomEventFilter(r, "filter"));
    refuses({ limit: "x" }, "M_BAD_JSON", /^limit/, (r) => parseRoomEventFilter(r));
  });
});
