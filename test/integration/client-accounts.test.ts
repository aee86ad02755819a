/**
 * The accounts endpoints of the client-server API on a real Zion over loopback: login, registration with
 * user-interactive auth, refresh tokens, logout, whoami, password change, deactivation (and the leaves, invite
 * rejections and knock withdrawals it makes), devices, shared-secret registration, the r0 aliases, and the
 * rc_login / rc_registration limits. Every bad request gets its status and errcode, and writes nothing (checked
 * in the server's own store).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher, registrationMac } from "../../src/api/index.js";
import type { Clock } from "../../src/core/clock.js";
import type { UserId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCaller, expectMatrixError, httpCall, type Reply } from "../harness/http-get.js";

let now = 1_764_000_000_000;
const clock: Clock = { now: () => now, sleep: async () => {} };
const cheap = scryptHasher({ ln: 10 });
const SECRET = "shared secret for tests";
const PASSWORD = "correct horse 1";

const generous = { per_second: 1000, burst_count: 1000 };

const databases = backendDatabases("zion_accounts");
after(() => databases.stop());
const databaseConfig = (backend: "sqlite" | "postgres") => databases.config(backend);

// The whole suite on both backends (the registration race runs on a real PostgreSQL pool too).
for (const backend of ["sqlite", "postgres"] as const)
describe(`client API accounts (${backend})`, () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: {
        ...(await databaseConfig(backend)),
        enable_registration: true,
        enable_registration_without_verification: true,
        registration_shared_secret: SECRET,
        password_config: { policy: { enabled: true, minimum_length: 8, require_digit: true } },
        rc_login: { address: generous, account: generous, failed_attempts: generous },
        rc_registration: generous,
      },
      startOptions: { clock, passwordHasher: cheap },
    });
  });
  after(() => zion?.stop());

  const users = () => zion.homeserver!.storage.users;
  const call = clientCaller(() => zion.clientUrl);
  const expectError = expectMatrixError;
  const registerUser = async (username: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const r = await call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" }, ...extra });
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  const login = (user: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<Reply> =>
    call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...extra });
  const userId = (local: string) => `@${local}:zion.test` as UserId;

  describe("POST /register", () => {
    it("answers a request without auth with 401, the m.login.dummy flow and a session, writing nothing", async () => {
      const r = await call("POST", "/_matrix/client/v3/register", { username: "uia", password: PASSWORD });
      assert.equal(r.status, 401, r.body);
      const j = r.json();
      assert.deepEqual(j["flows"], [{ stages: ["m.login.dummy"] }]);
      assert.deepEqual(j["params"], {});
      assert.equal(typeof j["session"], "string");
      assert.equal(j["errcode"], undefined);
      assert.equal(await users().getUser(userId("uia")), null);
      // Completing the stage with that session registers the account.
      const done = await call("POST", "/_matrix/client/v3/register", { username: "uia", password: PASSWORD, auth: { type: "m.login.dummy", session: j["session"] } });
      assert.equal(done.status, 200, done.body);
      assert.equal(done.json()["user_id"], "@uia:zion.test");
    });

    it("registers with m.login.dummy: user id, access token, device, home_server; the token works; displayname is the localpart", async () => {
      const j = await registerUser("Alice", { initial_device_display_name: "Alice's phone" });
      assert.equal(j["user_id"], "@alice:zion.test", "the username is lower-cased, as Synapse does");
      assert.equal(j["home_server"], "zion.test");
      assert.match(String(j["access_token"]), /^zat_[A-Za-z0-9_-]{43}$/);
      const who = await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"]));
      assert.deepEqual(who.json(), { user_id: "@alice:zion.test", device_id: j["device_id"], is_guest: false });
      assert.equal((await users().getProfile(userId("alice")))?.displayname, "alice");
      assert.equal((await users().getDevice(userId("alice"), String(j["device_id"])))?.displayName, "Alice's phone");
      assert.match(String((await users().getUser(userId("alice")))?.passwordHash), /^\$scrypt\$ln=10,r=8,p=1\$/);
    });

    it("refuses a taken name with 400 M_USER_IN_USE before any auth, and a racing duplicate too", async () => {
      await registerUser("taken");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "taken", password: PASSWORD }), 400, "M_USER_IN_USE");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "TAKEN", password: PASSWORD, auth: { type: "m.login.dummy" } }), 400, "M_USER_IN_USE");
      const race = await Promise.all([0, 1, 2].map(() => call("POST", "/_matrix/client/v3/register", { username: "racer", password: PASSWORD, auth: { type: "m.login.dummy" } })));
      assert.deepEqual(race.map((r) => r.status).sort(), [200, 400, 400], race.map((r) => r.body).join("\n"));
      for (const r of race.filter((x) => x.status === 400)) assert.equal(r.json()["errcode"], "M_USER_IN_USE");
      assert.equal((await users().getDevices(userId("racer"))).length, 1, "only the winner's device exists");
    });

    it("refuses bad usernames with 400 M_INVALID_USERNAME and writes nothing", async () => {
      const long = "a".repeat(255 - "@:zion.test".length + 1);
      for (const username of ["", "has space", "colon:name", "émile", long]) {
        const r = await call("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } });
        assert.match(String(expectError(r, 400, "M_INVALID_USERNAME")["error"]), /^username: /);
      }
      const tooLong = expectError(await call("POST", "/_matrix/client/v3/register", { username: long, password: PASSWORD }), 400, "M_INVALID_USERNAME");
      assert.match(String(tooLong["error"]), /256 bytes long; the limit is 255/);
      assert.equal(await users().getUser(userId(long)), null);
      // One byte shorter is exactly 255 bytes: allowed.
      assert.equal((await registerUser(long.slice(1)))["user_id"], `@${long.slice(1)}:zion.test`);
    });

    it("refuses wrong types with 400 M_BAD_JSON naming the field, bad JSON with M_NOT_JSON, big bodies with 413", async () => {
      const bad = expectError(await call("POST", "/_matrix/client/v3/register", { username: 5, password: PASSWORD }), 400, "M_BAD_JSON");
      assert.match(String(bad["error"]), /username/);
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "x", password: ["p"], auth: { type: "m.login.dummy" } }), 400, "M_BAD_JSON");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "x", inhibit_login: "yes" }), 400, "M_BAD_JSON");
      expectError(await call("POST", "/_matrix/client/v3/register", "{not json"), 400, "M_NOT_JSON");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "big", password: "x".repeat(70_000) }), 413, "M_TOO_LARGE");
      assert.equal(await users().getUser(userId("x")), null);
      assert.equal(await users().getUser(userId("big")), null);
    });

    it("asks for the password once auth is done (400 M_MISSING_PARAM) and applies the policy (400 M_WEAK_PASSWORD)", async () => {
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "nopass", auth: { type: "m.login.dummy" } }), 400, "M_MISSING_PARAM");
      const weak = expectError(await call("POST", "/_matrix/client/v3/register", { username: "weak", password: "short1" }), 400, "M_WEAK_PASSWORD");
      assert.match(String(weak["error"]), /at least 8/);
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "weak", password: "no digits here" }), 400, "M_WEAK_PASSWORD");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "weak", password: "9".repeat(513) }), 400, "M_INVALID_PARAM");
      assert.equal(await users().getUser(userId("nopass")), null);
      assert.equal(await users().getUser(userId("weak")), null);
    });

    it("refuses guests with 403 M_GUEST_ACCESS_FORBIDDEN, an unknown stage with 400 M_UNRECOGNIZED, a bogus session with 400", async () => {
      expectError(await call("POST", "/_matrix/client/v3/register?kind=guest", {}), 403, "M_GUEST_ACCESS_FORBIDDEN");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "st", password: PASSWORD, auth: { type: "m.login.recaptcha" } }), 400, "M_UNRECOGNIZED");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "st", password: PASSWORD, auth: { type: "m.login.dummy", session: "bogus" } }), 400, "M_UNKNOWN");
      assert.equal(await users().getUser(userId("st")), null);
    });

    it("with inhibit_login makes the account but no device or token; without a username picks one", async () => {
      const r = await call("POST", "/_matrix/client/v3/register", { username: "quiet", password: PASSWORD, inhibit_login: true, auth: { type: "m.login.dummy" } });
      assert.deepEqual(r.json(), { user_id: "@quiet:zion.test", home_server: "zion.test" });
      assert.deepEqual(await users().getDevices(userId("quiet")), []);
      const anon = await call("POST", "/_matrix/client/v3/register", { password: PASSWORD, auth: { type: "m.login.dummy" } });
      assert.equal(anon.status, 200, anon.body);
      assert.match(String(anon.json()["user_id"]), /^@u[a-z0-9]{12}:zion\.test$/);
    });

    it("is served under r0 too", async () => {
      const r = await call("POST", "/_matrix/client/r0/register", { username: "oldclient", password: PASSWORD, auth: { type: "m.login.dummy" } });
      assert.equal(r.status, 200, r.body);
    });
  });

  describe("GET /register/available", () => {
    it("says available, M_USER_IN_USE or M_INVALID_USERNAME", async () => {
      await registerUser("present");
      assert.deepEqual((await call("GET", "/_matrix/client/v3/register/available?username=absent")).json(), { available: true });
      expectError(await call("GET", "/_matrix/client/v3/register/available?username=present"), 400, "M_USER_IN_USE");
      expectError(await call("GET", "/_matrix/client/v3/register/available?username=Pr%C3%A9sent"), 400, "M_INVALID_USERNAME");
      expectError(await call("GET", "/_matrix/client/v3/register/available"), 400, "M_INVALID_PARAM");
    });
  });

  describe("login", () => {
    before(async () => {
      await registerUser("bob");
    });

    it("lists m.login.password on GET", async () => {
      assert.deepEqual((await call("GET", "/_matrix/client/v3/login")).json(), { flows: [{ type: "m.login.password" }] });
    });

    it("logs in by localpart, by user id, in upper case, and with the legacy user field", async () => {
      for (const body of [
        { type: "m.login.password", identifier: { type: "m.id.user", user: "bob" }, password: PASSWORD },
        { type: "m.login.password", identifier: { type: "m.id.user", user: "@bob:zion.test" }, password: PASSWORD },
        { type: "m.login.password", identifier: { type: "m.id.user", user: "BOB" }, password: PASSWORD },
        { type: "m.login.password", user: "bob", password: PASSWORD },
      ]) {
        const r = await call("POST", "/_matrix/client/v3/login", body);
        assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.body}`);
        const j = r.json();
        assert.equal(j["user_id"], "@bob:zion.test");
        assert.equal(j["refresh_token"], undefined, "no refresh token unless asked");
        assert.equal((await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"]))).status, 200);
      }
    });

    it("refuses a wrong password, an unknown user and another server's user alike with 403 M_FORBIDDEN", async () => {
      const before = (await users().getDevices(userId("bob"))).length;
      for (const r of [await login("bob", "wrong password 1"), await login("nobody"), await login("@bob:other.test")]) expectError(r, 403, "M_FORBIDDEN");
      assert.equal((await users().getDevices(userId("bob"))).length, before, "no device was made");
    });

    it("refuses bad requests: missing password, wrong types, unknown type or identifier, not JSON, too big", async () => {
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", user: "bob" }), 400, "M_MISSING_PARAM");
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", user: "bob", password: 12345678 }), 400, "M_BAD_JSON");
      expectError(await call("POST", "/_matrix/client/v3/login", { user: "bob", password: PASSWORD }), 400, "M_BAD_JSON");
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.token", token: "abc" }), 400, "M_UNKNOWN");
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address: "a@b" }, password: PASSWORD }), 400, "M_UNKNOWN");
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", password: PASSWORD }), 400, "M_MISSING_PARAM");
      expectError(await call("POST", "/_matrix/client/v3/login", "nope"), 400, "M_NOT_JSON");
      expectError(await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", user: "bob", password: "p".repeat(70_000) }), 413, "M_TOO_LARGE");
    });

    it("reuses a named device and revokes its previous token", async () => {
      const first = (await login("bob", PASSWORD, { device_id: "BOBDESK" })).json();
      const second = (await login("bob", PASSWORD, { device_id: "BOBDESK" })).json();
      assert.equal(second["device_id"], "BOBDESK");
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(first["access_token"])), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(second["access_token"]))).status, 200);
    });

    it("is served under r0 too", async () => {
      assert.equal((await call("POST", "/_matrix/client/r0/login", { type: "m.login.password", user: "bob", password: PASSWORD })).status, 200);
    });
  });

  describe("access tokens", () => {
    it("answers no token with 401 M_MISSING_TOKEN and a bogus one with 401 M_UNKNOWN_TOKEN, soft_logout false", async () => {
      expectError(await call("GET", "/_matrix/client/v3/account/whoami"), 401, "M_MISSING_TOKEN");
      const j = expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, "zat_bogus"), 401, "M_UNKNOWN_TOKEN");
      assert.equal(j["soft_logout"], false);
    });

    it("issues an expiring token and a refresh token on request; expiry is a soft logout; /refresh rotates both", async () => {
      await registerUser("carol");
      const j = (await login("carol", PASSWORD, { refresh_token: true })).json();
      assert.equal(j["expires_in_ms"], 5 * 60_000);
      assert.match(String(j["refresh_token"]), /^zrt_/);
      now += 5 * 60_000;
      const expired = expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"])), 401, "M_UNKNOWN_TOKEN");
      assert.equal(expired["soft_logout"], true);
      const r = await call("POST", "/_matrix/client/v3/refresh", { refresh_token: j["refresh_token"] });
      assert.equal(r.status, 200, r.body);
      const fresh = r.json();
      assert.notEqual(fresh["refresh_token"], j["refresh_token"]);
      assert.equal(fresh["expires_in_ms"], 5 * 60_000);
      const who = await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(fresh["access_token"]));
      assert.equal(who.json()["device_id"], j["device_id"], "same device");
      // The new access token has been used, so the old refresh token is revoked.
      const old = expectError(await call("POST", "/_matrix/client/v3/refresh", { refresh_token: j["refresh_token"] }), 401, "M_UNKNOWN_TOKEN");
      assert.equal(old["soft_logout"], false);
      expectError(await call("POST", "/_matrix/client/v3/refresh", { refresh_token: "zrt_bogus" }), 401, "M_UNKNOWN_TOKEN");
      expectError(await call("POST", "/_matrix/client/v1/refresh", { refresh_token: "zrt_bogus" }), 401, "M_UNKNOWN_TOKEN");
      expectError(await call("POST", "/_matrix/client/v3/refresh", { refresh_token: 7 }), 400, "M_BAD_JSON");
    });

    it("registers with refresh_token: true (m.login.dummy): a refresh token and expires_in_ms; /refresh rotates both; the old refresh token then fails", async () => {
      const plain = await registerUser("paula");
      assert.equal(plain["refresh_token"], undefined, "none unless asked for");
      assert.equal(plain["expires_in_ms"], undefined);
      const j = await registerUser("quentin", { refresh_token: true });
      assert.match(String(j["refresh_token"]), /^zrt_/);
      assert.equal(j["expires_in_ms"], 5 * 60_000);
      const who = await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"]));
      assert.equal(who.json()["user_id"], userId("quentin"));
      const r = await call("POST", "/_matrix/client/v3/refresh", { refresh_token: j["refresh_token"] });
      assert.equal(r.status, 200, r.body);
      const fresh = r.json();
      assert.match(String(fresh["refresh_token"]), /^zrt_/);
      assert.notEqual(fresh["refresh_token"], j["refresh_token"]);
      assert.notEqual(fresh["access_token"], j["access_token"]);
      assert.equal(fresh["expires_in_ms"], 5 * 60_000);
      // The old access token stops at once; the new one is the same device.
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(j["access_token"])), 401, "M_UNKNOWN_TOKEN");
      const freshWho = (await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(fresh["access_token"]))).json();
      assert.equal(freshWho["device_id"], j["device_id"]);
      // Once the new pair is used (the whoami above), the old refresh token is revoked (the spec's rule).
      const old = expectError(await call("POST", "/_matrix/client/v3/refresh", { refresh_token: j["refresh_token"] }), 401, "M_UNKNOWN_TOKEN");
      assert.equal(old["soft_logout"], false);
      assert.equal((await users().getDevices(userId("quentin"))).length, 1, "still one device");
      // The new refresh token works in turn.
      const again = await call("POST", "/_matrix/client/v3/refresh", { refresh_token: fresh["refresh_token"] });
      assert.equal(again.status, 200, again.body);
      // An inhibited login asks for no tokens, so refresh_token gives none.
      const inhibited = await registerUser("rupert", { refresh_token: true, inhibit_login: true });
      assert.equal(inhibited["refresh_token"], undefined);
      assert.equal(inhibited["access_token"], undefined);
    });
  });

  describe("logout", () => {
    it("/logout ends the token and its device; /logout/all ends every device", async () => {
      const a = await registerUser("dave");
      const b = (await login("dave")).json();
      const c = (await login("dave")).json();
      assert.deepEqual((await call("POST", "/_matrix/client/v3/logout", undefined, String(a["access_token"]))).json(), {});
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(a["access_token"])), 401, "M_UNKNOWN_TOKEN");
      assert.deepEqual((await users().getDevices(userId("dave"))).map((d) => d.deviceId).sort(), [b["device_id"], c["device_id"]].sort());
      assert.equal((await call("POST", "/_matrix/client/v3/logout/all", undefined, String(b["access_token"]))).status, 200);
      for (const t of [b, c]) expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(t["access_token"])), 401, "M_UNKNOWN_TOKEN");
      assert.deepEqual(await users().getDevices(userId("dave")), []);
      expectError(await call("POST", "/_matrix/client/v3/logout"), 401, "M_MISSING_TOKEN");
    });
  });

  describe("POST /account/password", () => {
    it("asks for the current password, refuses a wrong one with 401 M_FORBIDDEN, then changes it and logs out the other devices", async () => {
      const me = await registerUser("erin");
      const other = (await login("erin")).json();
      const token = String(me["access_token"]);
      const first = await call("POST", "/_matrix/client/v3/account/password", { new_password: "new password 2" }, token);
      assert.equal(first.status, 401, first.body);
      assert.deepEqual(first.json()["flows"], [{ stages: ["m.login.password"] }]);
      const session = first.json()["session"];
      const auth = (password: string) => ({ type: "m.login.password", identifier: { type: "m.id.user", user: "erin" }, password, session });
      const wrong = await call("POST", "/_matrix/client/v3/account/password", { new_password: "new password 2", auth: auth("wrong password 9") }, token);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json()["errcode"], "M_FORBIDDEN");
      assert.equal(wrong.json()["session"], session);
      expectError(await login("erin", "new password 2"), 403, "M_FORBIDDEN");
      expectError(await call("POST", "/_matrix/client/v3/account/password", { new_password: "weak", auth: auth(PASSWORD) }, token), 400, "M_WEAK_PASSWORD");
      const ok = await call("POST", "/_matrix/client/v3/account/password", { new_password: "new password 2", auth: auth(PASSWORD) }, token);
      assert.equal(ok.status, 200, ok.body);
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, String(other["access_token"])), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await call("GET", "/_matrix/client/v3/account/whoami", undefined, token)).status, 200, "the requesting device stays");
      assert.equal((await login("erin", "new password 2")).status, 200);
      expectError(await login("erin", PASSWORD), 403, "M_FORBIDDEN");
    });

    it("refuses a UIA identifier naming another user, and a missing new_password with M_BAD_JSON", async () => {
      const me = await registerUser("frank");
      const token = String(me["access_token"]);
      const r = await call("POST", "/_matrix/client/v3/account/password", { new_password: "other pass 3", auth: { type: "m.login.password", identifier: { type: "m.id.user", user: "bob" }, password: PASSWORD } }, token);
      assert.equal(r.status, 401);
      assert.equal(r.json()["errcode"], "M_FORBIDDEN");
      expectError(await call("POST", "/_matrix/client/v3/account/password", {}, token), 400, "M_BAD_JSON");
      assert.equal((await login("frank")).status, 200, "the password is unchanged");
    });
  });

  describe("POST /account/deactivate", () => {
    it("needs the password, then deactivates: tokens gone, login answers M_USER_DEACTIVATED, the name stays taken", async () => {
      const me = await registerUser("gina");
      const token = String(me["access_token"]);
      const first = await call("POST", "/_matrix/client/v3/account/deactivate", undefined, token);
      assert.equal(first.status, 401, first.body);
      assert.equal((await users().getUser(userId("gina")))?.deactivated, false);
      const ok = await call("POST", "/_matrix/client/v3/account/deactivate", { auth: { type: "m.login.password", user: "gina", password: PASSWORD, session: first.json()["session"] } }, token);
      assert.deepEqual(ok.json(), { id_server_unbind_result: "no-support" });
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, token), 401, "M_UNKNOWN_TOKEN");
      expectError(await login("gina"), 403, "M_USER_DEACTIVATED");
      expectError(await call("POST", "/_matrix/client/v3/register", { username: "gina", password: PASSWORD }), 400, "M_USER_IN_USE");
      assert.equal((await users().getProfile(userId("gina")))?.displayname, "gina", "without erase the profile stays");
    });

    it("rejects pending invites, withdraws knocks and leaves every joined room, so the other members see the leave; erase clears the profile", async () => {
      const host = await registerUser("horace");
      const hostToken = String(host["access_token"]);
      const me = await registerUser("hilda");
      const token = String(me["access_token"]);
      const hilda = userId("hilda");
      const createRoom = async (t: string, body: Record<string, unknown>): Promise<string> => {
        const r = await call("POST", "/_matrix/client/v3/createRoom", body, t);
        assert.equal(r.status, 200, r.body);
        return String(r.json()["room_id"]);
      };
      const joined = await createRoom(hostToken, { invite: [hilda] });
      assert.equal((await call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(joined)}/join`, {}, token)).status, 200);
      const invited = await createRoom(hostToken, { invite: [hilda] });
      const knocked = await createRoom(hostToken, { initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
      const knock = await call("POST", `/_matrix/client/v3/knock/${encodeURIComponent(knocked)}`, {}, token);
      assert.equal(knock.status, 200, knock.body);
      const own = await createRoom(token, {});
      const avatar = await call("PUT", `/_matrix/client/v3/profile/${encodeURIComponent(hilda)}/avatar_url`, { avatar_url: "mxc://zion.test/hilda" }, token);
      assert.equal(avatar.status, 200, avatar.body);
      const before = await call("GET", "/_matrix/client/v3/sync?timeout=0", undefined, hostToken);
      assert.equal(before.status, 200, before.body);

      const first = await call("POST", "/_matrix/client/v3/account/deactivate", { erase: true }, token);
      assert.equal(first.status, 401, first.body);
      const rs = zion.homeserver!.storage.rooms;
      assert.deepEqual(await rs.getRoomsForUser(hilda, "join"), [joined, own].sort(), "nothing is left before the password");
      assert.deepEqual(await rs.getRoomsForUser(hilda, "invite"), [invited]);
      assert.deepEqual(await rs.getRoomsForUser(hilda, "knock"), [knocked]);
      const ok = await call("POST", "/_matrix/client/v3/account/deactivate", { erase: true, auth: { type: "m.login.password", identifier: { type: "m.id.user", user: "hilda" }, password: PASSWORD, session: first.json()["session"] } }, token);
      assert.equal(ok.status, 200, ok.body);
      assert.deepEqual(ok.json(), { id_server_unbind_result: "no-support" });

      // The host's /sync shows hilda's leave in the room she was in, the one she was invited to and the one she knocked on.
      const next = await call("GET", `/_matrix/client/v3/sync?timeout=0&since=${String(before.json()["next_batch"])}`, undefined, hostToken);
      assert.equal(next.status, 200, next.body);
      const rooms = (next.json()["rooms"] as { join: Record<string, { timeline: { events: { type: string; state_key?: string; content: Record<string, unknown> }[] } }> }).join;
      for (const roomId of [joined, invited, knocked]) {
        const leave = rooms[roomId]?.timeline.events.find((e) => e.type === "m.room.member" && e.state_key === hilda);
        assert.deepEqual(leave?.content, { membership: "leave", reason: "account deactivated" }, `hilda's leave of ${roomId} in the host's /sync`);
      }
      const members = await call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(joined)}/members`, undefined, hostToken);
      assert.equal(members.status, 200, members.body);
      const hildaMember = (members.json()["chunk"] as { state_key: string; content: { membership: string } }[]).find((e) => e.state_key === hilda);
      assert.equal(hildaMember?.content.membership, "leave");
      for (const m of ["join", "invite", "knock"]) assert.deepEqual(await rs.getRoomsForUser(hilda, m), [], `no ${m} left`);
      assert.deepEqual(await rs.getRoomsForUser(hilda, "leave"), [joined, invited, knocked, own].sort());

      // erase: the stored display name and avatar are gone; the account is dead.
      assert.deepEqual(await users().getProfile(hilda), { displayname: null, avatarUrl: null });
      expectError(await call("GET", "/_matrix/client/v3/account/whoami", undefined, token), 401, "M_UNKNOWN_TOKEN");
      expectError(await login("hilda"), 403, "M_USER_DEACTIVATED");
    });

    it("refuses a non-boolean erase with 400 M_BAD_JSON naming it, and deactivates nothing", async () => {
      const me = await registerUser("ivy");
      const token = String(me["access_token"]);
      const auth = { type: "m.login.password", user: "ivy", password: PASSWORD };
      const r = expectError(await call("POST", "/_matrix/client/v3/account/deactivate", { erase: "yes", auth }, token), 400, "M_BAD_JSON");
      assert.match(String(r["error"]), /erase/);
      assert.equal((await users().getUser(userId("ivy")))?.deactivated, false);
    });
  });

  describe("devices", () => {
    let token: string;
    let deviceId: string;
    before(async () => {
      const me = await registerUser("hank", { device_id: "HANKPHONE", initial_device_display_name: "phone" });
      token = String(me["access_token"]);
      deviceId = String(me["device_id"]);
      await login("hank", PASSWORD, { device_id: "HANKDESK" });
      await login("hank", PASSWORD, { device_id: "HANKOLD" });
    });

    it("lists, gets and renames devices; unknown devices are 404 M_NOT_FOUND", async () => {
      assert.equal(deviceId, "HANKPHONE");
      const list = (await call("GET", "/_matrix/client/v3/devices", undefined, token)).json()["devices"] as Record<string, unknown>[];
      assert.deepEqual(list.map((d) => d["device_id"]), ["HANKDESK", "HANKOLD", "HANKPHONE"]);
      const phone = list.find((d) => d["device_id"] === "HANKPHONE")!;
      assert.equal(phone["display_name"], "phone");
      assert.equal(phone["last_seen_ip"], "127.0.0.1");
      assert.equal(typeof phone["last_seen_ts"], "number");
      assert.equal((await call("GET", "/_matrix/client/v3/devices/HANKDESK", undefined, token)).json()["device_id"], "HANKDESK");
      expectError(await call("GET", "/_matrix/client/v3/devices/NOPE", undefined, token), 404, "M_NOT_FOUND");
      assert.deepEqual((await call("PUT", "/_matrix/client/v3/devices/HANKDESK", { display_name: "desk" }, token)).json(), {});
      assert.equal((await users().getDevice(userId("hank"), "HANKDESK"))?.displayName, "desk");
      expectError(await call("PUT", "/_matrix/client/v3/devices/NOPE", { display_name: "x" }, token), 404, "M_NOT_FOUND");
      expectError(await call("PUT", "/_matrix/client/v3/devices/HANKDESK", { display_name: 5 }, token), 400, "M_BAD_JSON");
      expectError(await call("GET", `/_matrix/client/v3/devices/${"D".repeat(256)}`, undefined, token), 400, "M_INVALID_PARAM");
      // Another user's device is not found for this user.
      const other = await registerUser("ivan", { device_id: "IVANDEV" });
      expectError(await call("GET", "/_matrix/client/v3/devices/IVANDEV", undefined, token), 404, "M_NOT_FOUND");
      expectError(await call("PUT", "/_matrix/client/v3/devices/HANKDESK", { display_name: "stolen" }, String(other["access_token"])), 404, "M_NOT_FOUND");
    });

    it("deletes one device after UIA, and several with /delete_devices", async () => {
      const first = await call("DELETE", "/_matrix/client/v3/devices/HANKOLD", undefined, token);
      assert.equal(first.status, 401, first.body);
      assert.notEqual(await users().getDevice(userId("hank"), "HANKOLD"), null, "nothing deleted before auth");
      const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: "@hank:zion.test" }, password: PASSWORD, session: first.json()["session"] };
      assert.deepEqual((await call("DELETE", "/_matrix/client/v3/devices/HANKOLD", { auth }, token)).json(), {});
      assert.equal(await users().getDevice(userId("hank"), "HANKOLD"), null);
      expectError(await call("DELETE", "/_matrix/client/v3/devices/HANKOLD", {}, token), 404, "M_NOT_FOUND");
      const many = await call("POST", "/_matrix/client/v3/delete_devices", { devices: ["HANKDESK", "GHOST"] }, token);
      assert.equal(many.status, 401);
      // A session from the single-device delete does not authorise another operation.
      expectError(await call("POST", "/_matrix/client/v3/delete_devices", { devices: ["HANKDESK"], auth: { ...auth, session: first.json()["session"] } }, token), 400, "M_UNKNOWN");
      const ok = await call("POST", "/_matrix/client/v3/delete_devices", { devices: ["HANKDESK", "GHOST"], auth: { type: "m.login.password", user: "hank", password: PASSWORD, session: many.json()["session"] } }, token);
      assert.equal(ok.status, 200, ok.body);
      assert.deepEqual((await users().getDevices(userId("hank"))).map((d) => d.deviceId), ["HANKPHONE"]);
      expectError(await call("POST", "/_matrix/client/v3/delete_devices", { devices: "HANKPHONE" }, token), 400, "M_BAD_JSON");
    });
  });

  describe("shared-secret registration (/_synapse/admin/v1/register)", () => {
    const nonce = async (): Promise<string> => String((await call("GET", "/_synapse/admin/v1/register")).json()["nonce"]);

    it("registers an admin with a correct HMAC, and the nonce is single use", async () => {
      const n = await nonce();
      const body = { nonce: n, username: "root", password: "any password", admin: true, mac: registrationMac(SECRET, { nonce: n, username: "root", password: "any password", admin: true }) };
      const r = await call("POST", "/_synapse/admin/v1/register", body);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json()["user_id"], "@root:zion.test");
      assert.equal((await users().getUser(userId("root")))?.admin, true);
      expectError(await call("POST", "/_synapse/admin/v1/register", { ...body, username: "root2" }), 400, "M_UNKNOWN");
    });

    it("refuses a wrong HMAC with 403 M_FORBIDDEN, an unknown nonce with 400, bad fields with M_BAD_JSON; nothing written", async () => {
      const n = await nonce();
      expectError(await call("POST", "/_synapse/admin/v1/register", { nonce: n, username: "mallory", password: "pw", admin: true, mac: registrationMac(SECRET, { nonce: n, username: "mallory", password: "pw", admin: false }) }), 403, "M_FORBIDDEN");
      expectError(await call("POST", "/_synapse/admin/v1/register", { nonce: "made-up", username: "mallory", password: "pw", mac: "00" }), 400, "M_UNKNOWN");
      expectError(await call("POST", "/_synapse/admin/v1/register", { nonce: await nonce(), username: "mallory", password: "p\u0000w", mac: "00" }), 400, "M_BAD_JSON");
      expectError(await call("POST", "/_synapse/admin/v1/register", { nonce: await nonce(), username: "mallory", mac: "00" }), 400, "M_BAD_JSON");
      assert.equal(await users().getUser(userId("mallory")), null);
    });

    it("refuses an invalid or taken username after a good HMAC", async () => {
      for (const [username, errcode] of [["bad name", "M_INVALID_USERNAME"], ["bob", "M_USER_IN_USE"]] as const) {
        const n = await nonce();
        expectError(await call("POST", "/_synapse/admin/v1/register", { nonce: n, username, password: "pw", mac: registrationMac(SECRET, { nonce: n, username, password: "pw", admin: false }) }), 400, errcode);
      }
    });
  });
});

describe("client API accounts on a server with registration closed and tight rate limits", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: { rc_login: { address: { per_second: 0.1, burst_count: 3 }, failed_attempts: { per_second: 0.1, burst_count: 2 } } },
      startOptions: { clock, passwordHasher: cheap },
    });
    await zion.homeserver!.storage.users.createUser({ userId: "@zed:zion.test" as UserId, passwordHash: await cheap.hash(PASSWORD), createdTs: now });
  });
  after(() => zion?.stop());
  const post = (path: string, body: unknown): Promise<Reply> =>
    httpCall(`${zion.clientUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("refuses registration with 403 M_FORBIDDEN and shared-secret registration with 400 when no secret is set", async () => {
    const r = await post("/_matrix/client/v3/register", { username: "newbie", password: PASSWORD, auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 403);
    assert.equal(r.json()["errcode"], "M_FORBIDDEN");
    const n = await httpCall(`${zion.clientUrl}/_synapse/admin/v1/register`);
    assert.equal(n.status, 400);
    assert.equal(await zion.homeserver!.storage.users.getUser("@newbie:zion.test" as UserId), null);
  });

  it("limits failed logins per account (rc_login.failed_attempts) and logins per address (rc_login.address) with 429, retry_after_ms and Retry-After", async () => {
    const attempt = (password: string) => post("/_matrix/client/v3/login", { type: "m.login.password", user: "zed", password });
    assert.equal((await attempt("wrong 1")).status, 403);
    assert.equal((await attempt("wrong 2")).status, 403);
    const limited = await attempt(PASSWORD);
    assert.equal(limited.status, 429, limited.body);
    assert.equal(limited.json()["errcode"], "M_LIMIT_EXCEEDED");
    // Two failures in a bucket of two leaking 0.1/s: the next one fits in 10 s.
    assert.equal(limited.json()["retry_after_ms"], 10_000);
    assert.equal(limited.headers["retry-after"], "10");
    now += 10_000; // one failure leaks away; and one address token
    const ok = await attempt(PASSWORD);
    assert.equal(ok.status, 200, ok.body);
    const byAddress = await attempt(PASSWORD);
    assert.equal(byAddress.status, 429, "the fifth attempt from one address in a burst of three");
    assert.equal(byAddress.json()["errcode"], "M_LIMIT_EXCEEDED");
  });
});

describe("client API accounts on a server with a tight rc_registration", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: { enable_registration: true, enable_registration_without_verification: true, rc_registration: { per_second: 0.1, burst_count: 2 } },
      startOptions: { clock, passwordHasher: cheap },
    });
  });
  after(() => zion?.stop());
  const register = (username: string, auth: Record<string, unknown> | undefined = { type: "m.login.dummy" }): Promise<Reply> =>
    httpCall(`${zion.clientUrl}/_matrix/client/v3/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: PASSWORD, ...(auth ? { auth } : {}) }) });

  it("answers /register with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After once an address has made burst_count accounts, writing nothing, until a token leaks away", async () => {
    assert.equal((await register("reg1")).status, 200);
    assert.equal((await register("reg2")).status, 200);
    const limited = await register("reg3");
    expectMatrixError(limited, 429, "M_LIMIT_EXCEEDED");
    // Two accounts in a bucket of two leaking 0.1/s: the next one fits in 10 s.
    assert.equal(limited.json()["retry_after_ms"], 10_000);
    assert.equal(limited.headers["retry-after"], "10");
    assert.equal(await zion.homeserver!.storage.users.getUser("@reg3:zion.test" as UserId), null);
    expectMatrixError(await register("reg3", undefined), 429, "M_LIMIT_EXCEEDED"); // starting the UIA dance is refused too
    now += 10_000;
    const ok = await register("reg3");
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json()["user_id"], "@reg3:zion.test");
  });
});
