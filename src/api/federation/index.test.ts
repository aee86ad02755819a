import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allRoutes } from "../index.js";

// https://spec.matrix.org/v1.16/server-server-api/#request-authentication: every federation request is signed; the
// exceptions are the key endpoints (/_matrix/key/v2/*), GET /_matrix/federation/v1/version, and
// GET /_matrix/federation/v1/openid/userinfo, which services (not servers) call with an OpenID token
// (https://spec.matrix.org/v1.13/server-server-api/#openid).
const UNSIGNED = new Set(["GET /_matrix/federation/v1/version", "GET /_matrix/federation/v1/openid/userinfo"]);

describe("authentication of federation routes", () => {
  it("requires X-Matrix on every /_matrix/federation route except the version and OpenID userinfo endpoints", () => {
    const fed = allRoutes.filter((r) => r.path.startsWith("/_matrix/federation/"));
    assert.ok(fed.length >= 2, "federation routes are listed");
    for (const r of fed) {
      const name = `${r.method} ${r.path}`;
      assert.equal(r.auth, UNSIGNED.has(name) ? "none" : "x-matrix", name);
    }
  });

  it("serves the key endpoints without authentication, as a notary must be reachable by anyone", () => {
    const keys = allRoutes.filter((r) => r.path.startsWith("/_matrix/key/"));
    assert.ok(keys.some((r) => r.path === "/_matrix/key/v2/server") && keys.some((r) => r.method === "POST" && r.path === "/_matrix/key/v2/query"));
    for (const r of keys) assert.equal(r.auth, "none", `${r.method} ${r.path}`);
  });
});
