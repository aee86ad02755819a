/** The `filter` query parameters of /sync and /messages. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { thrownMatrixError } from "../thrown-matrix-error.js";
import { MAX_INLINE_FILTER_BYTES, parseRoomEventFilterParam, parseSyncFilterParam } from "./query.js";

describe("parseSyncFilterParam", () => {
  it("reads an inline filter", () => {
    const p = parseSyncFilterParam('{"room":{"timeline":{"limit":5}}}');
    assert.equal(p.kind, "inline");
    assert.equal(p.kind === "inline" && p.filter.room.timeline.limit, 5);
  });
  it("takes anything else as a filter id", () => assert.deepEqual(parseSyncFilterParam("42"), { kind: "id", id: "42" }));
  it("refuses text that is not JSON with M_NOT_JSON", () => {
    const e = thrownMatrixError(() => parseSyncFilterParam("{room:"));
    assert.deepEqual([e.errcode, e.status], ["M_NOT_JSON", 400]);
  });
  it("names the bad field under filter", () => {
    const e = thrownMatrixError(() => parseSyncFilterParam('{"room":{"timeline":{"limit":"5"}}}'));
    assert.equal(e.errcode, "M_BAD_JSON");
    assert.match(e.message, /^filter\.room\.timeline\.limit/);
    assert.match(thrownMatrixError(() => parseSyncFilterParam("{}x")).errcode, /M_NOT_JSON/);
  });
  it("refuses an empty id and an over-long inline filter with M_INVALID_PARAM", () => {
    assert.equal(thrownMatrixError(() => parseSyncFilterParam("")).errcode, "M_INVALID_PARAM");
    const big = `{"x":"${"a".repeat(MAX_INLINE_FILTER_BYTES)}"}`;
    assert.equal(thrownMatrixError(() => parseSyncFilterParam(big)).errcode, "M_INVALID_PARAM");
  });
});

describe("parseRoomEventFilterParam", () => {
  it("reads a RoomEventFilter", () => assert.equal(parseRoomEventFilterParam('{"lazy_load_members":true}').lazy_load_members, true));
  it("names the bad field under filter", () => assert.match(thrownMatrixError(() => parseRoomEventFilterParam('{"types":[1]}')).message, /^filter\.types\[0\]/));
  it("refuses a JSON value that is not an object with M_BAD_JSON", () => assert.equal(thrownMatrixError(() => parseRoomEventFilterParam("[]")).errcode, "M_BAD_JSON"));
  it("refuses text that is not JSON with M_NOT_JSON", () => assert.equal(thrownMatrixError(() => parseRoomEventFilterParam("nope")).errcode, "M_NOT_JSON"));
});
