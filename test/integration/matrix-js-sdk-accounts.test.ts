/**
 * matrix-js-sdk 37.5 (the real client library, from npm) against a real Zion, started as a child process by the
 * harness: register with m.login.dummy (the SDK's own 401 handling), log in with a password and with a refresh
 * token, whoami, list and rename devices, delete a device through UIA, refresh, log out.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, type MatrixClient } from "matrix-js-sdk";
import "../harness/sdk-quiet.js";
import { startTestServer, type TestServer } from "../harness/server.js";

describe("matrix-js-sdk 37.5 against Zion: accounts", () => {
  let zion: TestServer;
  let baseUrl: string;
  before(async () => {
    zion = await startTestServer({
      mode: "child",
      config: {
        enable_registration: true,
        enable_registration_without_verification: true,
        rc_login: { address: { per_second: 100, burst_count: 100 } },
        rc_registration: { per_second: 100, burst_count: 100 },
      },
    });
    baseUrl = zion.clientUrl!;
  });
  after(() => zion?.stop());

  const client = (extra: Record<string, unknown> = {}): MatrixClient => createClient({ baseUrl, ...extra });

  it("registers through the SDK's user-interactive auth (401 then m.login.dummy with the session)", async () => {
    const c = client();
    const first = await c.registerRequest({ username: "sdkuser", password: "sdk password 1" }).then(
      () => assert.fail("the first request must be answered with 401 and the flows"),
      (e: { httpStatus?: number; data?: Record<string, unknown> }) => e,
    );
    assert.equal(first.httpStatus, 401);
    assert.deepEqual(first.data?.["flows"], [{ stages: ["m.login.dummy"] }]);
    const session = String(first.data?.["session"]);
    const r = await c.registerRequest({ username: "sdkuser", password: "sdk password 1", auth: { type: "m.login.dummy", session }, initial_device_display_name: "sdk device" });
    assert.equal(r.user_id, "@sdkuser:zion.test");
    assert.ok(r.access_token && r.device_id);
  });

  it("logs in with a password, answers whoami, lists and renames devices, deletes one through UIA, and logs out", async () => {
    const anon = client();
    const login = await anon.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: "sdkuser" }, password: "sdk password 1", initial_device_display_name: "laptop" });
    assert.equal(login.user_id, "@sdkuser:zion.test");
    const c = client({ accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
    const who = await c.whoami();
    assert.equal(who.user_id, "@sdkuser:zion.test");
    assert.equal(who.device_id, login.device_id);

    const { devices } = await c.getDevices();
    assert.equal(devices.length, 2, "the registration's device and this one");
    assert.equal(devices.find((d) => d.device_id === login.device_id)?.display_name, "laptop");
    await c.setDeviceDetails(login.device_id, { display_name: "renamed laptop" });
    assert.equal((await c.getDevice(login.device_id)).display_name, "renamed laptop");

    const other = devices.find((d) => d.device_id !== login.device_id)!;
    const uia = await c.deleteDevice(other.device_id).then(
      () => assert.fail("deleting a device needs UIA"),
      (e: { httpStatus?: number; data?: Record<string, unknown> }) => e,
    );
    assert.equal(uia.httpStatus, 401);
    await c.deleteDevice(other.device_id, { type: "m.login.password", identifier: { type: "m.id.user", user: "sdkuser" }, password: "sdk password 1", session: String(uia.data?.["session"]) } as never);
    assert.deepEqual((await c.getDevices()).devices.map((d) => d.device_id), [login.device_id]);

    await c.logout();
    const after = await c.whoami().then(
      () => assert.fail("the token must be dead after logout"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(after.httpStatus, 401);
    assert.equal(after.errcode, "M_UNKNOWN_TOKEN");
  });

  it("logs in with loginWithPassword and refreshes its token with refreshToken", async () => {
    const c = client();
    await c.loginWithPassword("@sdkuser:zion.test", "sdk password 1");
    assert.equal((await c.whoami()).user_id, "@sdkuser:zion.test");
    const withRefresh = await client().loginRequest({ type: "m.login.password", user: "sdkuser", password: "sdk password 1", refresh_token: true });
    assert.ok(withRefresh.refresh_token, "a refresh token when asked for");
    assert.equal(withRefresh.expires_in_ms, 5 * 60_000);
    const r = client({ accessToken: withRefresh.access_token, userId: withRefresh.user_id });
    const refreshed = await r.refreshToken(withRefresh.refresh_token!);
    assert.ok(refreshed.access_token && refreshed.access_token !== withRefresh.access_token);
    const fresh = client({ accessToken: refreshed.access_token, userId: withRefresh.user_id });
    assert.equal((await fresh.whoami()).device_id, withRefresh.device_id);
  });

  it("sees the SDK's login errors as MatrixErrors with the spec's errcodes", async () => {
    const wrong = await client().loginRequest({ type: "m.login.password", user: "sdkuser", password: "nope" }).then(
      () => assert.fail("a wrong password must fail"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(wrong.httpStatus, 403);
    assert.equal(wrong.errcode, "M_FORBIDDEN");
    const taken = await client().registerRequest({ username: "sdkuser", password: "x password 1", auth: { type: "m.login.dummy" } }).then(
      () => assert.fail("a taken name must fail"),
      (e: { errcode?: string }) => e,
    );
    assert.equal(taken.errcode, "M_USER_IN_USE");
  });
});
