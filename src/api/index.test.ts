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

/**
 * What a version in /versions promises a client on first contact: it can log
 * in, find out who it is, sync, create and join rooms, send, and log out
 * (client-server API v1.x, the /v3 endpoints). Parameter names do not matter.
 */
const CLIENT_ESSENTIALS = [
  "GET /_matrix/client/v3/login",
  "POST /_matrix/client/v3/login",
  "GET /_matrix/client/v3/account/whoami",
  "GET /_matrix/client/v3/capabilities",
  "GET /_matrix/client/v3/sync",
  "POST /_matrix/client/v3/createRoom",
  "POST /_matrix/client/v3/join/:_",
  "PUT /_matrix/client/v3/rooms/:_/send/:_/:_",
  "POST /_matrix/client/v3/logout",
];

/** The essentials that no client-resource route serves. */
function missingClientEssentials(routes: readonly { method: string; path: string; resource: string }[], required: readonly string[] = CLIENT_ESSENTIALS): string[] {
  const served = new Set(routes.filter((r) => r.resource === "client").map((r) => `${r.method} ${r.path.replace(/:[A-Za-z0-9_]+/g, ":_")}`));
  return required.filter((e) => !served.has(e));
}

/**
 * What each advertised version requires beyond the essentials: the endpoints a normal session of matrix-js-sdk or
 * Element calls under v1.1 (rooms, membership, history, ephemeral streams, push rules, profile, devices, keys,
 * to-device, filters, account data), then what each later version added that clients use when it is advertised.
 * Cumulative: a version requires its own rows and every earlier one's.
 */
const VERSION_ENDPOINTS: readonly (readonly [string, readonly string[]])[] = [
  ["v1.1", [
    "GET /_matrix/client/v3/joined_rooms", "POST /_matrix/client/v3/rooms/:_/invite", "POST /_matrix/client/v3/rooms/:_/leave",
    "POST /_matrix/client/v3/rooms/:_/kick", "POST /_matrix/client/v3/rooms/:_/ban", "POST /_matrix/client/v3/knock/:_",
    "GET /_matrix/client/v3/rooms/:_/messages", "GET /_matrix/client/v3/rooms/:_/members", "GET /_matrix/client/v3/rooms/:_/state",
    "PUT /_matrix/client/v3/rooms/:_/state/:_/:_", "GET /_matrix/client/v3/rooms/:_/event/:_", "GET /_matrix/client/v3/rooms/:_/context/:_",
    "PUT /_matrix/client/v3/rooms/:_/redact/:_/:_",
    "PUT /_matrix/client/v3/rooms/:_/typing/:_", "POST /_matrix/client/v3/rooms/:_/receipt/:_/:_", "POST /_matrix/client/v3/rooms/:_/read_markers",
    "GET /_matrix/client/v3/presence/:_/status", "PUT /_matrix/client/v3/presence/:_/status",
    "GET /_matrix/client/v3/pushrules/", "PUT /_matrix/client/v3/pushrules/:_/:_/:_", "PUT /_matrix/client/v3/pushrules/:_/:_/:_/enabled",
    "GET /_matrix/client/v3/profile/:_", "PUT /_matrix/client/v3/profile/:_/displayname",
    "GET /_matrix/client/v3/devices", "POST /_matrix/client/v3/keys/upload", "POST /_matrix/client/v3/keys/query", "POST /_matrix/client/v3/keys/claim",
    "PUT /_matrix/client/v3/sendToDevice/:_/:_", "POST /_matrix/client/v3/user/:_/filter", "GET /_matrix/client/v3/user/:_/filter/:_",
    "PUT /_matrix/client/v3/user/:_/account_data/:_", "PUT /_matrix/client/v3/user/:_/rooms/:_/account_data/:_",
  ]],
  ["v1.2", ["GET /_matrix/client/v1/rooms/:_/hierarchy"]],
  ["v1.3", ["GET /_matrix/client/v1/rooms/:_/relations/:_"]],
  ["v1.4", ["GET /_matrix/client/v1/rooms/:_/threads"]],
  ["v1.6", ["GET /_matrix/client/v1/rooms/:_/timestamp_to_event"]],
];

function requiredFor(version: string): string[] {
  const at = VERSION_ENDPOINTS.findIndex(([v]) => v === version);
  if (at < 0) return [];
  return [...CLIENT_ESSENTIALS, ...VERSION_ENDPOINTS.slice(0, at + 1).flatMap(([, e]) => e)];
}

describe("GET /_matrix/client/versions", () => {
  it("advertises a client-server spec version only once every endpoint a client needs first is served", () => {
    const missing = missingClientEssentials(allRoutes);
    if (missing.length > 0) assert.deepEqual(CLIENT_SPEC_VERSIONS, [], `versions advertised while these are not served: ${missing.join(", ")}`);
    for (const v of CLIENT_SPEC_VERSIONS) assert.match(v, /^(v1\.\d+|r0\.\d+\.\d+)$/);
  });

  it("advertises each version only when every endpoint it requires (cumulatively) is served, and only versions the table knows", () => {
    for (const v of CLIENT_SPEC_VERSIONS) {
      assert.ok(VERSION_ENDPOINTS.some(([known]) => known === v) || /^r0\./.test(v), `${v} has no row in VERSION_ENDPOINTS`);
      assert.deepEqual(missingClientEssentials(allRoutes, requiredFor(v)), [], `${v} is advertised but these are not served`);
    }
    // A version whose rows are served but that comes after an unserved one cannot be listed either (cumulative).
    assert.ok(requiredFor("v1.4").includes("GET /_matrix/client/v1/rooms/:_/hierarchy"));
  });

  it("still finds the gap when some client routes exist but not all (the rule does not weaken as routes appear)", () => {
    // A made-up partial set (not allRoutes, which grows as endpoints land).
    const some = [
      { method: "GET", path: "/_matrix/client/versions", resource: "client" },
      { method: "GET", path: "/_matrix/client/v3/login", resource: "client" },
      { method: "POST", path: "/_matrix/client/v3/login", resource: "client" },
      { method: "PUT", path: "/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId", resource: "client" },
    ];
    assert.deepEqual(missingClientEssentials(some), CLIENT_ESSENTIALS.filter((e) => !/login|send/.test(e)));
    // A route under another resource does not count: a federation listener cannot serve a client.
    assert.ok(missingClientEssentials([{ method: "GET", path: "/_matrix/client/v3/sync", resource: "federation" }]).includes("GET /_matrix/client/v3/sync"));
    const all = CLIENT_ESSENTIALS.map((e) => ({ method: e.split(" ")[0]!, path: e.split(" ")[1]!, resource: "client" }));
    assert.deepEqual(missingClientEssentials(all), []);
  });
});
