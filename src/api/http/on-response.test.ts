import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { MatrixError } from "../../core/errors.js";
import { createHttpApp, defineRoute } from "./index.js";

describe("createHttpApp onResponse", () => {
  it("reports each response with the route's path template as servlet, 'unmatched' for none, the status and the seconds taken", async () => {
    const seen: { method: string; servlet: string; status: number; seconds: number }[] = [];
    const app = createHttpApp({
      routes: [
        defineRoute({ method: "GET", path: "/rooms/:roomId/thing", auth: "none", resource: "public", handle: () => ({ ok: true }) }),
        defineRoute({ method: "POST", path: "/fail", auth: "none", resource: "public", handle: () => { throw MatrixError.forbidden("no"); } }),
      ],
      deps: {},
      logger: pino({ level: "silent" }),
      onResponse: (r) => seen.push(r),
    });
    assert.equal((await app.inject({ method: "GET", url: "/rooms/!secret:example.org/thing?x=1" })).statusCode, 200);
    assert.equal((await app.inject({ method: "POST", url: "/fail" })).statusCode, 403);
    assert.equal((await app.inject({ method: "GET", url: "/nowhere/abc" })).statusCode, 404);
    assert.deepEqual(seen.map(({ method, servlet, status }) => ({ method, servlet, status })), [
      { method: "GET", servlet: "/rooms/:roomId/thing", status: 200 },
      { method: "POST", servlet: "/fail", status: 403 },
      { method: "GET", servlet: "unmatched", status: 404 },
    ]);
    for (const r of seen) assert.ok(r.seconds >= 0 && r.seconds < 60, String(r.seconds));
    await app.close();
  });
});
