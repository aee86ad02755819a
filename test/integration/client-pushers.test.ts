/**
 * GET /pushers and POST /pushers/set on a real Zion over loopback, on SQLite and PostgreSQL: http pushers are
 * stored and listed, replaced per (app_id, pushkey), deleted with kind null, shared between users with append, and
 * deleted with the device that set them; bad input gets its status, errcode and field, and writes nothing.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { expectMatrixError as expectError } from "../harness/http-get.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_767_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_client_pushers");
after(() => databases.stop());

const V3 = "/_matrix/client/v3";
const URL_OK = "https://push.example.org/_matrix/push/v1/notify";
type Json = Record<string, unknown>;

function httpPusher(pushkey: string, extra: Json = {}): Json {
  return { kind: "http", app_id: "org.example.app", pushkey, app_display_name: "Example", device_display_name: "Phone", lang: "en", data: { url: URL_OK }, ...extra };
}

for (const backend of ["sqlite", "postgres"] as const)
describe(`pushers (${backend})`, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let register: Awaited<ReturnType<typeof startRoomsServer>>["register"];
  let alice: Client, bob: Client;
  before(async () => {
    const s = await startRoomsServer(await databases.config(backend), clock);
    zion = s.zion;
    call = s.call;
    register = s.register;
    [alice, bob] = await Promise.all(["alice", "bob"].map((u) => s.register(u))) as [Client, Client];
  });
  after(() => zion?.stop());

  const list = async (c: Client) => ok(await call("GET", `${V3}/pushers`, undefined, c.token))["pushers"] as Json[];
  const set = (c: Client, body: unknown) => call("POST", `${V3}/pushers/set`, body, c.token);

  it("stores an http pusher and lists it with the fields the client set (profile_tag only when given), the user's own only", async () => {
    assert.deepEqual(await list(alice), []);
    assert.deepEqual(ok(await set(alice, httpPusher("k1", { profile_tag: "xyz", data: { url: URL_OK, format: "event_id_only", brand: "x" } }))), {});
    assert.deepEqual(await list(alice), [{
      app_display_name: "Example", app_id: "org.example.app", data: { url: URL_OK, format: "event_id_only", brand: "x" },
      device_display_name: "Phone", kind: "http", lang: "en", profile_tag: "xyz", pushkey: "k1",
    }]);
    assert.deepEqual(await list(bob), [], "bob sees none of alice's");
    ok(await set(alice, httpPusher("k1", { lang: "fr" })));
    const after = await list(alice);
    assert.equal(after.length, 1, "the same (app_id, pushkey) replaces, not adds");
    assert.equal(after[0]!["lang"], "fr");
    assert.equal("profile_tag" in after[0]!, false);
  });

  it("deletes with kind null (answering {} also when there was none)", async () => {
    ok(await set(alice, httpPusher("gone")));
    assert.ok((await list(alice)).some((p) => p["pushkey"] === "gone"));
    assert.deepEqual(ok(await set(alice, { kind: null, app_id: "org.example.app", pushkey: "gone" })), {});
    assert.equal((await list(alice)).some((p) => p["pushkey"] === "gone"), false);
    assert.deepEqual(ok(await set(alice, { kind: null, app_id: "org.example.app", pushkey: "never" })), {});
  });

  it("without append takes the (app_id, pushkey) away from another user; with append both keep it", async () => {
    ok(await set(alice, httpPusher("shared")));
    ok(await set(bob, httpPusher("shared", { append: true })));
    assert.ok((await list(alice)).some((p) => p["pushkey"] === "shared"), "append: alice keeps hers");
    ok(await set(bob, httpPusher("shared")));
    assert.equal((await list(alice)).some((p) => p["pushkey"] === "shared"), false, "not append: alice's is removed");
    assert.ok((await list(bob)).some((p) => p["pushkey"] === "shared"));
  });

  it("logging out deletes the pushers that device set", async () => {
    const carol = await register("carol");
    ok(await set(carol, httpPusher("carol-phone")));
    assert.equal((await list(carol)).length, 1);
    ok(await call("POST", `${V3}/logout`, {}, carol.token));
    assert.deepEqual(await zion.homeserver!.storage.pushers.list(carol.userId), []);
  });

  it("refuses bad input with 400 and the errcode naming the field, writing nothing", async () => {
    const before = await list(alice);
    const cases: [Json, string, RegExp][] = [
      [{ ...httpPusher("x"), app_id: undefined }, "M_MISSING_PARAM", /app_id/],
      [{ ...httpPusher("x"), pushkey: undefined }, "M_MISSING_PARAM", /pushkey/],
      [{ app_id: "a", pushkey: "x" }, "M_MISSING_PARAM", /kind/],
      [{ ...httpPusher("x"), lang: undefined }, "M_MISSING_PARAM", /lang/],
      [{ ...httpPusher("x"), app_display_name: undefined }, "M_MISSING_PARAM", /app_display_name/],
      [{ ...httpPusher("x"), device_display_name: undefined }, "M_MISSING_PARAM", /device_display_name/],
      [{ ...httpPusher("x"), data: undefined }, "M_MISSING_PARAM", /data/],
      [httpPusher("x", { data: {} }), "M_MISSING_PARAM", /data\.url/],
      [httpPusher("x", { app_id: 7 }), "M_BAD_JSON", /app_id/],
      [httpPusher("x", { data: "url" }), "M_BAD_JSON", /data/],
      [httpPusher("x", { append: "yes" }), "M_BAD_JSON", /append/],
      [httpPusher("x", { profile_tag: 3 }), "M_BAD_JSON", /profile_tag/],
      [httpPusher("x", { app_id: "a".repeat(65) }), "M_INVALID_PARAM", /app_id/],
      [httpPusher("é".repeat(257)), "M_INVALID_PARAM", /pushkey/],
      [httpPusher("x", { kind: "email", data: {} }), "M_INVALID_PARAM", /kind/],
      [httpPusher("x", { kind: "carrier-pigeon" }), "M_INVALID_PARAM", /kind/],
      [httpPusher("x", { data: { url: "https://push.example.org/notify" } }), "M_INVALID_PARAM", /data\.url/],
      [httpPusher("x", { data: { url: "not a url" } }), "M_INVALID_PARAM", /data\.url/],
      [httpPusher("x", { data: { url: "ftp://push.example.org/_matrix/push/v1/notify" } }), "M_INVALID_PARAM", /data\.url/],
      [httpPusher("x", { data: { url: URL_OK, format: "full" } }), "M_INVALID_PARAM", /data\.format/],
    ];
    for (const [body, errcode, field] of cases) {
      const e = expectError(await set(alice, body), 400, errcode);
      assert.match(String(e["error"]), field, `${JSON.stringify(body).slice(0, 80)}: ${String(e["error"])}`);
    }
    assert.deepEqual(await list(alice), before, "nothing written");
  });

  it("needs an access token", async () => {
    expectError(await call("GET", `${V3}/pushers`, undefined), 401, "M_MISSING_TOKEN");
    expectError(await call("POST", `${V3}/pushers/set`, httpPusher("x")), 401, "M_MISSING_TOKEN");
  });
});
