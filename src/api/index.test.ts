import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allRoutes, CLIENT_SPEC_VERSIONS, mountedResources, routesFor } from "./index.js";

const paths = (resources: string[], federationEnabled = true): string[] =>
  routesFor(allRoutes, { resources: new Set(resources), federationEnabled }).map((r) => r.path);

describe("which routes a listener serves", () => {
  it("serves /health and the well-known files on every listener", () => {
    for (const r of [[], ["client"], ["federation"]]) {
      assert.ok(paths(r).includes("/health"), JSON.stringify(r));
      assert.ok(paths(r).includes("/.well-known/matrix/client"), JSON.stringify(r));
    }
  });

  it("serves federation and keys under the federation resource, client versions only under client", () => {
    const fed = paths(["federation"]);
    assert.ok(fed.includes("/_matrix/federation/v1/version"));
    assert.ok(fed.includes("/_matrix/key/v2/server"));
    assert.ok(!fed.includes("/_matrix/client/versions"));
    const client = paths(["client"]);
    assert.ok(client.includes("/_matrix/client/versions"));
    assert.ok(!client.some((p) => p.startsWith("/_matrix/federation") || p.startsWith("/_matrix/key")));
  });

  it("mounts no federation route when federation is disabled, keys only under an explicit keys resource", () => {
    assert.deepEqual([...mountedResources({ resources: new Set(["federation"]), federationEnabled: false })], ["public"]);
    const keysOnly = paths(["keys", "federation"], false);
    assert.ok(keysOnly.includes("/_matrix/key/v2/server"));
    assert.ok(!keysOnly.some((p) => p.startsWith("/_matrix/federation")));
  });
});

describe("GET /_matrix/client/versions", () => {
  it("advertises no client-server spec version while /versions is the only client-API route", () => {
    const clientApi = allRoutes.filter((r) => r.resource === "client" && r.path.startsWith("/_matrix/client/")).map((r) => r.path);
    if (clientApi.length === 1 && clientApi[0] === "/_matrix/client/versions") assert.deepEqual(CLIENT_SPEC_VERSIONS, []);
    else assert.ok(clientApi.includes("/_matrix/client/versions"), JSON.stringify(clientApi));
  });
});
