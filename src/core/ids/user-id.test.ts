/**
 * User ids from other servers: historical ids are accepted (spec v1.14+, appendices "Historical User IDs").
 * The strict grammar for ids Zion creates is newLocalUserId's (src/api/client/shared/user-ids.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseUserId } from "./index.js";

describe("parseUserId (ids from other servers)", () => {
  for (const id of ["@alice:a.test", "@:a.test", "@Zoë Ünïcode:f.test", "@😀:f.test", "@a/b=c+d:a.test", "@UPPER:a.test", "@sp ace:a.test:8448"]) {
    it(`accepts the historical user id ${JSON.stringify(id)}`, () => assert.equal(parseUserId(id), id));
  }
  for (const [id, why] of [
    ["@a\u0000b:a.test", /NUL/],
    ["@a\ud800:a.test", /surrogate/],
    ["@\udc00:a.test", /surrogate/],
    ["alice:a.test", /start with '@'/],
    ["@alice", /':server'/],
    ["@alice:", /./],
    [`@${"a".repeat(250)}:a.test`, /255 bytes/],
  ] as const) {
    it(`refuses ${JSON.stringify(id.slice(0, 20))} naming the problem`, () => {
      assert.throws(() => parseUserId(id, "sender"), (e: Error & { errcode?: string }) => e.errcode === "M_INVALID_PARAM" && /sender/.test(e.message) && why.test(e.message));
    });
  }
});
