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

  it("serves /_matrix/media on media, client and (federation on) federation listeners, as Synapse mounts it", () => {
    for (const names of [["media"], ["client"], ["federation"]]) assert.ok(paths(names, true).includes("/_matrix/media/v3/upload"), names.join());
    assert.ok(paths(["client"], true).includes("/_matrix/client/v1/media/download/:serverName/:mediaId"));
    assert.ok(!paths(["keys"], true).includes("/_matrix/media/v3/upload"));
    assert.ok(!paths(["federation"], false).includes("/_matrix/media/v3/upload"));
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

/** Whether a route path serves a required path: literals equal, a route parameter takes any one segment (`global`). */
function pathServes(route: string, required: string): boolean {
  const r = route.split("/");
  const q = required.split("/");
  return r.length === q.length && r.every((seg, i) => (seg.startsWith(":") ? q[i] !== "" : seg === q[i]));
}

/**
 * The required endpoints that no route a client listener serves answers: "client" routes, and "media" ones (mounted
 * wherever "client" is, see mountedResources).
 */
function missingClientEssentials(routes: readonly { method: string; path: string; resource: string }[], required: readonly string[] = CLIENT_ESSENTIALS): string[] {
  const served = routes.filter((r) => r.resource === "client" || r.resource === "media");
  return required.filter((e) => {
    const [method, path] = e.split(" ") as [string, string];
    return !served.some((r) => r.method === method && pathServes(r.path, path));
  });
}

/**
 * What each advertised version requires (docs/client-api.md, "Spec versions"): v1.1's row is every endpoint of the
 * client-server API v1.1 (as the /v3 paths of v1.13 name them) but those in UNSERVED; each later row is what that
 * version's changelog added (https://spec.matrix.org/v1.13/changelog/). Cumulative: a version requires its own
 * rows and every earlier one's. A version whose additions are all behaviour (v1.5, v1.8-v1.10, v1.12) has an
 * empty row: docs/client-api.md says what serves each.
 */
const VERSION_ENDPOINTS: readonly (readonly [string, readonly string[]])[] = [
  ["v1.1", [
    "DELETE /_matrix/client/v3/devices/:_", "DELETE /_matrix/client/v3/directory/room/:_",
    "DELETE /_matrix/client/v3/pushrules/global/:_/:_", "DELETE /_matrix/client/v3/room_keys/keys",
    "DELETE /_matrix/client/v3/room_keys/keys/:_", "DELETE /_matrix/client/v3/room_keys/keys/:_/:_",
    "DELETE /_matrix/client/v3/room_keys/version/:_", "DELETE /_matrix/client/v3/user/:_/rooms/:_/tags/:_",
    "GET /_matrix/client/v3/account/3pid", "GET /_matrix/client/v3/account/whoami",
    "GET /_matrix/client/v3/admin/whois/:_", "GET /_matrix/client/v3/capabilities", "GET /_matrix/client/v3/devices",
    "GET /_matrix/client/v3/devices/:_", "GET /_matrix/client/v3/directory/list/room/:_",
    "GET /_matrix/client/v3/directory/room/:_", "GET /_matrix/client/v3/joined_rooms",
    "GET /_matrix/client/v3/keys/changes", "GET /_matrix/client/v3/login",
    "GET /_matrix/client/v3/presence/:_/status", "GET /_matrix/client/v3/profile/:_",
    "GET /_matrix/client/v3/profile/:_/avatar_url", "GET /_matrix/client/v3/profile/:_/displayname",
    "GET /_matrix/client/v3/publicRooms", "GET /_matrix/client/v3/pushrules/",
    "GET /_matrix/client/v3/pushrules/global/", "GET /_matrix/client/v3/pushrules/global/:_/:_",
    "GET /_matrix/client/v3/pushrules/global/:_/:_/actions", "GET /_matrix/client/v3/pushrules/global/:_/:_/enabled",
    "GET /_matrix/client/v3/register/available", "GET /_matrix/client/v3/room_keys/keys",
    "GET /_matrix/client/v3/room_keys/keys/:_", "GET /_matrix/client/v3/room_keys/keys/:_/:_",
    "GET /_matrix/client/v3/room_keys/version", "GET /_matrix/client/v3/room_keys/version/:_",
    "GET /_matrix/client/v3/rooms/:_/aliases", "GET /_matrix/client/v3/rooms/:_/context/:_",
    "GET /_matrix/client/v3/rooms/:_/event/:_", "GET /_matrix/client/v3/rooms/:_/joined_members",
    "GET /_matrix/client/v3/rooms/:_/members", "GET /_matrix/client/v3/rooms/:_/messages",
    "GET /_matrix/client/v3/rooms/:_/state", "GET /_matrix/client/v3/rooms/:_/state/:_/:_",
    "GET /_matrix/client/v3/sync", "GET /_matrix/client/v3/thirdparty/location",
    "GET /_matrix/client/v3/thirdparty/location/:_", "GET /_matrix/client/v3/thirdparty/protocol/:_",
    "GET /_matrix/client/v3/thirdparty/protocols", "GET /_matrix/client/v3/thirdparty/user",
    "GET /_matrix/client/v3/thirdparty/user/:_", "GET /_matrix/client/v3/user/:_/account_data/:_",
    "GET /_matrix/client/v3/user/:_/filter/:_", "GET /_matrix/client/v3/user/:_/rooms/:_/account_data/:_",
    "GET /_matrix/client/v3/user/:_/rooms/:_/tags", "GET /_matrix/client/v3/voip/turnServer",
    "GET /_matrix/media/v3/config", "GET /_matrix/media/v3/download/:_/:_",
    "GET /_matrix/media/v3/download/:_/:_/:_", "GET /_matrix/media/v3/preview_url",
    "GET /_matrix/media/v3/thumbnail/:_/:_", "POST /_matrix/client/v3/account/3pid",
    "POST /_matrix/client/v3/account/3pid/add", "POST /_matrix/client/v3/account/3pid/bind",
    "POST /_matrix/client/v3/account/3pid/delete", "POST /_matrix/client/v3/account/3pid/email/requestToken",
    "POST /_matrix/client/v3/account/3pid/msisdn/requestToken", "POST /_matrix/client/v3/account/3pid/unbind",
    "POST /_matrix/client/v3/account/deactivate", "POST /_matrix/client/v3/account/password",
    "POST /_matrix/client/v3/account/password/email/requestToken",
    "POST /_matrix/client/v3/account/password/msisdn/requestToken", "POST /_matrix/client/v3/createRoom",
    "POST /_matrix/client/v3/delete_devices", "POST /_matrix/client/v3/join/:_",
    "POST /_matrix/client/v3/keys/claim", "POST /_matrix/client/v3/keys/device_signing/upload",
    "POST /_matrix/client/v3/keys/query", "POST /_matrix/client/v3/keys/signatures/upload",
    "POST /_matrix/client/v3/keys/upload", "POST /_matrix/client/v3/knock/:_", "POST /_matrix/client/v3/login",
    "POST /_matrix/client/v3/logout", "POST /_matrix/client/v3/logout/all", "POST /_matrix/client/v3/publicRooms",
    "GET /_matrix/client/v3/pushers", "POST /_matrix/client/v3/pushers/set",
    "POST /_matrix/client/v3/register", "POST /_matrix/client/v3/register/email/requestToken",
    "POST /_matrix/client/v3/register/msisdn/requestToken", "POST /_matrix/client/v3/room_keys/version",
    "POST /_matrix/client/v3/rooms/:_/ban", "POST /_matrix/client/v3/rooms/:_/forget",
    "POST /_matrix/client/v3/rooms/:_/invite", "POST /_matrix/client/v3/rooms/:_/join",
    "POST /_matrix/client/v3/rooms/:_/kick", "POST /_matrix/client/v3/rooms/:_/leave",
    "POST /_matrix/client/v3/rooms/:_/read_markers", "POST /_matrix/client/v3/rooms/:_/receipt/:_/:_",
    "POST /_matrix/client/v3/rooms/:_/report/:_", "POST /_matrix/client/v3/rooms/:_/unban",
    "POST /_matrix/client/v3/rooms/:_/upgrade", "POST /_matrix/client/v3/user/:_/filter", "POST /_matrix/client/v3/user_directory/search", "POST /_matrix/client/v3/search", "GET /_matrix/client/v3/notifications", "POST /_matrix/client/v3/user/:_/openid/request_token",
    "POST /_matrix/media/v3/upload", "PUT /_matrix/client/v3/devices/:_",
    "PUT /_matrix/client/v3/directory/list/room/:_", "PUT /_matrix/client/v3/directory/room/:_",
    "PUT /_matrix/client/v3/presence/:_/status", "PUT /_matrix/client/v3/profile/:_/avatar_url",
    "PUT /_matrix/client/v3/profile/:_/displayname", "PUT /_matrix/client/v3/pushrules/global/:_/:_",
    "PUT /_matrix/client/v3/pushrules/global/:_/:_/actions", "PUT /_matrix/client/v3/pushrules/global/:_/:_/enabled",
    "PUT /_matrix/client/v3/room_keys/keys", "PUT /_matrix/client/v3/room_keys/keys/:_",
    "PUT /_matrix/client/v3/room_keys/keys/:_/:_", "PUT /_matrix/client/v3/room_keys/version/:_",
    "PUT /_matrix/client/v3/rooms/:_/redact/:_/:_", "PUT /_matrix/client/v3/rooms/:_/send/:_/:_",
    "PUT /_matrix/client/v3/rooms/:_/state/:_/:_", "PUT /_matrix/client/v3/rooms/:_/typing/:_",
    "PUT /_matrix/client/v3/sendToDevice/:_/:_", "PUT /_matrix/client/v3/user/:_/account_data/:_",
    "PUT /_matrix/client/v3/user/:_/rooms/:_/account_data/:_", "PUT /_matrix/client/v3/user/:_/rooms/:_/tags/:_",
  ]],
  ["v1.2", ["GET /_matrix/client/v1/rooms/:_/hierarchy", "GET /_matrix/client/v1/register/m.login.registration_token/validity"]],
  ["v1.3", ["GET /_matrix/client/v1/rooms/:_/relations/:_", "GET /_matrix/client/v1/rooms/:_/relations/:_/:_", "GET /_matrix/client/v1/rooms/:_/relations/:_/:_/:_", "POST /_matrix/client/v3/refresh"]],
  ["v1.4", ["GET /_matrix/client/v1/rooms/:_/threads"]],
  ["v1.5", []],
  ["v1.6", ["GET /_matrix/client/v1/rooms/:_/timestamp_to_event"]],
  ["v1.7", ["POST /_matrix/media/v1/create", "PUT /_matrix/media/v3/upload/:_/:_"]],
  ["v1.8", []],
  ["v1.9", []],
  ["v1.10", []],
  ["v1.11", ["GET /_matrix/client/v1/media/config", "GET /_matrix/client/v1/media/download/:_/:_", "GET /_matrix/client/v1/media/download/:_/:_/:_", "GET /_matrix/client/v1/media/preview_url", "GET /_matrix/client/v1/media/thumbnail/:_/:_"]],
  ["v1.12", []],
  ["v1.13", ["POST /_matrix/client/v3/rooms/:_/report"]],
];

/**
 * The r0 releases, listed as Synapse lists them, each with the endpoints it added (https://spec.matrix.org/historical/,
 * the API descriptions of each release), under their r0 paths: every /v3 route is also served under /r0
 * (api/client/index.ts, api/media/index.ts). Cumulative like VERSION_ENDPOINTS. Left out, in UNSERVED: the
 * endpoints a later r0 release removed (presence lists, /tokenrefresh), the deprecated /events and /initialSync
 * family, CAS and SSO redirects, and the application-service directory. /versions and /.well-known/matrix/client
 * have no r0 in their path and are checked above and in the listener tests.
 */
const R0_ENDPOINTS: readonly (readonly [string, readonly string[]])[] = [
  ["r0.0.1", [
    "DELETE /_matrix/client/r0/directory/room/:_", "DELETE /_matrix/client/r0/pushrules/global/:_/:_",
    "DELETE /_matrix/client/r0/user/:_/rooms/:_/tags/:_", "GET /_matrix/client/r0/account/3pid",
    "GET /_matrix/client/r0/admin/whois/:_", "GET /_matrix/client/r0/directory/room/:_",
    "GET /_matrix/client/r0/presence/:_/status", "GET /_matrix/client/r0/profile/:_",
    "GET /_matrix/client/r0/profile/:_/avatar_url", "GET /_matrix/client/r0/profile/:_/displayname",
    "GET /_matrix/client/r0/publicRooms", "GET /_matrix/client/r0/pushrules/",
    "GET /_matrix/client/r0/pushrules/global/:_/:_", "GET /_matrix/client/r0/rooms/:_/context/:_",
    "GET /_matrix/client/r0/rooms/:_/members", "GET /_matrix/client/r0/rooms/:_/messages",
    "GET /_matrix/client/r0/rooms/:_/state", "GET /_matrix/client/r0/rooms/:_/state/:_",
    "GET /_matrix/client/r0/rooms/:_/state/:_/:_", "GET /_matrix/client/r0/sync",
    "GET /_matrix/client/r0/user/:_/filter/:_", "GET /_matrix/client/r0/user/:_/rooms/:_/tags",
    "GET /_matrix/client/r0/voip/turnServer", "GET /_matrix/media/r0/download/:_/:_",
    "GET /_matrix/media/r0/thumbnail/:_/:_", "POST /_matrix/client/r0/account/3pid",
    "POST /_matrix/client/r0/account/password", "POST /_matrix/client/r0/createRoom", "POST /_matrix/client/r0/login",
    "POST /_matrix/client/r0/pushers/set", "POST /_matrix/client/r0/register", "POST /_matrix/client/r0/rooms/:_/ban",
    "POST /_matrix/client/r0/rooms/:_/forget", "POST /_matrix/client/r0/rooms/:_/invite",
    "POST /_matrix/client/r0/rooms/:_/join", "POST /_matrix/client/r0/rooms/:_/leave",
    "POST /_matrix/client/r0/rooms/:_/receipt/:_/:_", "POST /_matrix/client/r0/search",
    "POST /_matrix/client/r0/user/:_/filter", "POST /_matrix/media/r0/upload",
    "PUT /_matrix/client/r0/directory/room/:_", "PUT /_matrix/client/r0/presence/:_/status",
    "PUT /_matrix/client/r0/profile/:_/avatar_url", "PUT /_matrix/client/r0/profile/:_/displayname",
    "PUT /_matrix/client/r0/pushrules/global/:_/:_", "PUT /_matrix/client/r0/pushrules/global/:_/:_/enabled",
    "PUT /_matrix/client/r0/rooms/:_/redact/:_/:_", "PUT /_matrix/client/r0/rooms/:_/send/:_/:_",
    "PUT /_matrix/client/r0/rooms/:_/state/:_", "PUT /_matrix/client/r0/rooms/:_/state/:_/:_",
    "PUT /_matrix/client/r0/rooms/:_/typing/:_", "PUT /_matrix/client/r0/user/:_/account_data/:_",
    "PUT /_matrix/client/r0/user/:_/rooms/:_/account_data/:_", "PUT /_matrix/client/r0/user/:_/rooms/:_/tags/:_",
  ]],
  ["r0.1.0", [
    "GET /_matrix/client/r0/pushers", "GET /_matrix/client/r0/pushrules/global/:_/:_/actions",
    "GET /_matrix/client/r0/pushrules/global/:_/:_/enabled", "POST /_matrix/client/r0/join/:_",
    "POST /_matrix/client/r0/logout", "POST /_matrix/client/r0/rooms/:_/kick",
    "POST /_matrix/client/r0/rooms/:_/unban", "PUT /_matrix/client/r0/pushrules/global/:_/:_/actions",
  ]],
  ["r0.2.0", [
    "POST /_matrix/client/r0/account/3pid/email/requestToken", "POST /_matrix/client/r0/account/deactivate",
    "POST /_matrix/client/r0/account/password/email/requestToken",
    "POST /_matrix/client/r0/register/email/requestToken",
  ]],
  ["r0.3.0", [
    "DELETE /_matrix/client/r0/devices/:_", "GET /_matrix/client/r0/account/whoami", "GET /_matrix/client/r0/devices",
    "GET /_matrix/client/r0/devices/:_", "GET /_matrix/client/r0/joined_rooms", "GET /_matrix/client/r0/keys/changes",
    "GET /_matrix/client/r0/notifications", "GET /_matrix/client/r0/rooms/:_/joined_members",
    "GET /_matrix/media/r0/download/:_/:_/:_", "GET /_matrix/media/r0/preview_url",
    "POST /_matrix/client/r0/keys/claim", "POST /_matrix/client/r0/keys/query", "POST /_matrix/client/r0/keys/upload",
    "POST /_matrix/client/r0/publicRooms", "PUT /_matrix/client/r0/devices/:_",
    "PUT /_matrix/client/r0/sendToDevice/:_/:_",
  ]],
  ["r0.4.0", [
    "GET /_matrix/client/r0/directory/list/room/:_", "GET /_matrix/client/r0/login",
    "GET /_matrix/client/r0/register/available", "GET /_matrix/client/r0/rooms/:_/event/:_",
    "GET /_matrix/client/r0/thirdparty/location", "GET /_matrix/client/r0/thirdparty/location/:_",
    "GET /_matrix/client/r0/thirdparty/protocol/:_", "GET /_matrix/client/r0/thirdparty/protocols",
    "GET /_matrix/client/r0/thirdparty/user", "GET /_matrix/client/r0/thirdparty/user/:_",
    "GET /_matrix/media/r0/config", "POST /_matrix/client/r0/account/3pid/delete",
    "POST /_matrix/client/r0/account/3pid/msisdn/requestToken",
    "POST /_matrix/client/r0/account/password/msisdn/requestToken", "POST /_matrix/client/r0/delete_devices",
    "POST /_matrix/client/r0/logout/all", "POST /_matrix/client/r0/register/msisdn/requestToken",
    "POST /_matrix/client/r0/rooms/:_/read_markers", "POST /_matrix/client/r0/rooms/:_/report/:_",
    "POST /_matrix/client/r0/user/:_/openid/request_token", "POST /_matrix/client/r0/user_directory/search",
    "PUT /_matrix/client/r0/directory/list/room/:_",
  ]],
  ["r0.5.0", [
    "GET /_matrix/client/r0/capabilities", "GET /_matrix/client/r0/user/:_/account_data/:_",
    "GET /_matrix/client/r0/user/:_/rooms/:_/account_data/:_", "POST /_matrix/client/r0/rooms/:_/upgrade",
  ]],
  ["r0.6.0", [
    "POST /_matrix/client/r0/account/3pid/add", "POST /_matrix/client/r0/account/3pid/bind",
    "POST /_matrix/client/r0/account/3pid/unbind",
  ]],
  ["r0.6.1", [
    "GET /_matrix/client/r0/rooms/:_/aliases",
  ]],
];

/**
 * Endpoints of the spec (up to v1.13) that no route serves, each with why a version is listed anyway: optional ones,
 * application-service ones (Zion has no application services), deprecated ones, and gaps (modules not built yet;
 * docs/client-api.md lists them). The test below fails as soon as one of them is served, so the list only shrinks.
 */
const UNSERVED: readonly (readonly [string, string])[] = [
  ["POST /_matrix/client/v1/login/get_token", "optional (v1.7): the spec lets a server leave it out; m.get_login_token is not advertised"],
  ["GET /_matrix/client/v3/login/sso/redirect", "only for servers offering m.login.sso, which Zion does not"],
  ["GET /_matrix/client/v3/login/sso/redirect/:_", "only for servers offering m.login.sso, which Zion does not"],
  ["GET /.well-known/matrix/support", "optional (v1.10): a server may publish it"],
  ["POST /_matrix/client/v1/appservice/:_/ping", "application services only (v1.7); Zion has none"],
  ["PUT /_matrix/client/v3/directory/list/appservice/:_/:_", "application services only; Zion has none"],
  ["GET /_matrix/client/v3/events", "deprecated"],
  ["GET /_matrix/client/v3/events/:_", "deprecated"],
  ["GET /_matrix/client/v3/initialSync", "deprecated"],
  ["GET /_matrix/client/v3/rooms/:_/initialSync", "deprecated in v1.13 (undeprecated for peeking in v1.14)"],
  // The r0 releases' (R0_ENDPOINTS): their forms of the above, and what only they had.
  ["GET /_matrix/client/r0/events", "deprecated"],
  ["GET /_matrix/client/r0/events/:_", "deprecated"],
  ["GET /_matrix/client/r0/initialSync", "deprecated"],
  ["GET /_matrix/client/r0/rooms/:_/initialSync", "deprecated"],
  ["GET /_matrix/client/r0/login/sso/redirect", "only for servers offering m.login.sso, which Zion does not"],
  ["PUT /_matrix/client/r0/directory/list/appservice/:_/:_", "application services only; Zion has none"],
  ["GET /_matrix/client/r0/login/cas/redirect", "only for servers offering CAS login (r0.3.0-r0.4.0), which Zion does not"],
  ["GET /_matrix/client/r0/login/cas/ticket", "only for servers offering CAS login (r0.3.0-r0.4.0), which Zion does not"],
  ["GET /_matrix/client/r0/presence/list/:_", "removed: presence lists, dropped from the spec in r0.5.0 (MSC1819) and from Synapse before 1.0"],
  ["POST /_matrix/client/r0/presence/list/:_", "removed: presence lists, dropped from the spec in r0.5.0 (MSC1819) and from Synapse before 1.0"],
  ["POST /_matrix/client/r0/tokenrefresh", "removed from the spec in r0.3.0 (refresh tokens came back in v1.3 as /refresh)"],
];

/** A /v3 path's r0 form, as api/client/index.ts and api/media/index.ts mount every /v3 route. */
const r0Path = (endpoint: string): string => endpoint.replace("/_matrix/client/v3/", "/_matrix/client/r0/").replace("/_matrix/media/v3/", "/_matrix/media/r0/");

function requiredFor(version: string): string[] {
  const table = version.startsWith("r0.") ? R0_ENDPOINTS : VERSION_ENDPOINTS;
  const at = table.findIndex(([v]) => v === version);
  if (at < 0) return [];
  const essentials = version.startsWith("r0.") ? CLIENT_ESSENTIALS.map(r0Path) : CLIENT_ESSENTIALS;
  return [...essentials, ...table.slice(0, at + 1).flatMap(([, e]) => e)];
}

describe("GET /_matrix/client/versions", () => {
  it("advertises a client-server spec version only once every endpoint a client needs first is served", () => {
    const missing = missingClientEssentials(allRoutes);
    if (missing.length > 0) assert.deepEqual(CLIENT_SPEC_VERSIONS, [], `versions advertised while these are not served: ${missing.join(", ")}`);
    for (const v of CLIENT_SPEC_VERSIONS) assert.match(v, /^(v1\.\d+|r0\.\d+\.\d+)$/);
  });

  it("advertises each version only when every endpoint it requires (cumulatively) is served, and only versions the table knows", () => {
    for (const v of CLIENT_SPEC_VERSIONS) {
      assert.ok([...R0_ENDPOINTS, ...VERSION_ENDPOINTS].some(([known]) => known === v), `${v} has no row in VERSION_ENDPOINTS or R0_ENDPOINTS`);
      assert.deepEqual(missingClientEssentials(allRoutes, requiredFor(v)), [], `${v} is advertised but these are not served`);
    }
    // A version whose rows are served but that comes after an unserved one cannot be listed either (cumulative).
    assert.ok(requiredFor("v1.4").includes("GET /_matrix/client/v1/rooms/:_/hierarchy"));
    assert.ok(requiredFor("r0.6.1").includes("POST /_matrix/client/r0/account/deactivate"), "an r0 version requires the r0.2.0 endpoints");
    assert.ok(requiredFor("r0.6.1").includes("GET /_matrix/client/r0/sync"), "and the essentials, under r0");
  });

  it("lists r0.0.1 through r0.6.1, then every version from v1.1 through the newest row, with no gap", () => {
    assert.deepEqual(CLIENT_SPEC_VERSIONS, [...R0_ENDPOINTS, ...VERSION_ENDPOINTS].map(([v]) => v));
    assert.deepEqual(R0_ENDPOINTS.map(([v]) => v), ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1"]);
  });

  it("has in v1.1's row every endpoint of the r0 releases but those r0.5.0 removed (v1.1 only added to r0.6.1)", () => {
    const v11 = new Set(requiredFor("v1.1").map(r0Path));
    // Until r0.5.0 a state event with an empty state key also had a path without the trailing slash (still served).
    const removedInR05 = new Set(["GET /_matrix/client/r0/rooms/:_/state/:_", "PUT /_matrix/client/r0/rooms/:_/state/:_"]);
    for (const e of requiredFor("r0.6.1")) assert.ok(v11.has(e) || removedInR05.has(e), `${e} of an r0 release is not in v1.1's row`);
  });

  it("knows why each unserved spec endpoint is unserved, and none of them is served (the list only shrinks)", () => {
    const required = new Set([...R0_ENDPOINTS, ...VERSION_ENDPOINTS].flatMap(([, e]) => e));
    for (const [endpoint, why] of UNSERVED) {
      assert.ok(!required.has(endpoint), `${endpoint} is both required and unserved`);
      assert.match(why, /^(optional|only for|application services only|deprecated|removed|gap:)/, endpoint);
      assert.deepEqual(missingClientEssentials(allRoutes, [endpoint]), [endpoint], `${endpoint} is served now: take it out of UNSERVED and into its version's row`);
    }
  });

  it("matches a route parameter to a literal segment of the spec's path but not the other way round", () => {
    assert.ok(pathServes("/_matrix/client/v3/pushrules/:scope/:kind/:ruleId", "/_matrix/client/v3/pushrules/global/:_/:_"));
    assert.ok(!pathServes("/_matrix/client/v3/pushrules/global/:kind", "/_matrix/client/v3/pushrules/:_/:_"));
    assert.ok(!pathServes("/_matrix/client/v3/rooms/:roomId/report", "/_matrix/client/v3/rooms/:_/report/:_"));
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
