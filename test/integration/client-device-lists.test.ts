/**
 * A user's device list changes when a device is added (a login, before the device uploads any keys), deleted or
 * logged out, as Synapse counts it: the users sharing a room with them see them in /sync's device_lists.changed and
 * in /keys/changes, a waiting /sync is woken, and a user sharing no room is not told. A login that reuses one of the
 * user's devices is no change. Real Zion over loopback, on SQLite and PostgreSQL.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher } from "../../src/api/index.js";
import type { UserId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field
const enc = encodeURIComponent;

const databases = backendDatabases("zion_device_lists");
after(() => databases.stop());

for (const backend of ["sqlite", "postgres"] as const)
describe(`device-list changes from devices coming and going (${backend})`, () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: {
        ...(await databases.config(backend)),
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_login: { address: generous, account: generous, failed_attempts: generous },
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; deviceId: string; token: string }
  const session = (j: J): Session => ({ userId: j["user_id"] as UserId, deviceId: String(j["device_id"]), token: String(j["access_token"]) });
  let n = 0;
  const register = async (): Promise<Session> =>
    session(await ok(call("POST", "/_matrix/client/v3/register", { username: `dl${++n}`, password: PASSWORD, auth: { type: "m.login.dummy" } })));
  const login = async (s: Session, extra: Record<string, unknown> = {}): Promise<Session> =>
    session(await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: s.userId }, password: PASSWORD, ...extra })));
  const sync = (s: Session, since?: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync?set_presence=offline&timeout=0${since ? `&since=${since}` : ""}`, undefined, s.token));
  const changed = (j: J): string[] => j["device_lists"]?.["changed"] ?? [];
  const keysChanges = (s: Session, from: string, to: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/keys/changes?from=${from}&to=${to}`, undefined, s.token));
  /** a and b share a room; c shares none with b. Each has synced once; their next_batch tokens. */
  const setUp = async () => {
    const [a, b, c] = [await register(), await register(), await register()];
    const room = await ok(call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, a.token));
    await ok(call("POST", `/_matrix/client/v3/join/${enc(String(room["room_id"]))}`, {}, b.token));
    const first = await sync(a);
    // A second sync takes in b's join (newly shared: b is in changed once), so later syncs start from a quiet point.
    const aSince = String((await sync(a, String(first["next_batch"])))["next_batch"]);
    const cSince = String((await sync(c))["next_batch"]);
    return { a, b, c, aSince, cSince };
  };

  it("tells a user sharing a room of a new device the moment it logs in, before it uploads keys; not a user sharing no room", async () => {
    const { a, b, c, aSince, cSince } = await setUp();
    const quiet = await sync(a, aSince);
    assert.deepEqual(changed(quiet), [], "nothing has changed yet");
    const second = await login(b);
    assert.notEqual(second.deviceId, b.deviceId);
    const told = await sync(a, aSince);
    assert.deepEqual(changed(told), [b.userId]);
    assert.deepEqual(await keysChanges(a, aSince, String(told["next_batch"])), { changed: [b.userId], left: [] });
    assert.deepEqual(changed(await sync(c, cSince)), [], "c shares no room with b");
    assert.deepEqual(changed(await sync(a, String(told["next_batch"]))), [], "told once");
    assert.deepEqual(await zion.homeserver!.storage.e2ee.getDeviceKeys([{ userId: b.userId, deviceIds: [second.deviceId] }]).then((m) => m.get(b.userId)?.size ?? 0), 0, "the new device has no keys");
  });

  it("wakes a waiting /sync of a user sharing a room when the other user logs in a new device", async () => {
    const { a, b, aSince } = await setUp();
    const waitingBefore = zion.homeserver!.notifier.waiting();
    // The sync may wait 2 minutes; the request gives up after 60 s, so only a wake-up can answer it.
    const waiting = call("GET", `/_matrix/client/v3/sync?set_presence=offline&timeout=120000&since=${aSince}`, undefined, a.token, 60_000);
    for (const deadline = Date.now() + 30_000; zion.homeserver!.notifier.waiting() <= waitingBefore;) {
      if (Date.now() > deadline) assert.fail("a's /sync never started waiting");
      await new Promise((r) => setTimeout(r, 10));
    }
    await login(b);
    const woken = await waiting;
    assert.equal(woken.status, 200, woken.body);
    assert.deepEqual(changed(woken.json()), [b.userId]);
  });

  it("counts no change for a login that reuses one of the user's devices", async () => {
    const { a, b, aSince } = await setUp();
    const again = await login(b, { device_id: b.deviceId });
    assert.equal(again.deviceId, b.deviceId);
    const next = await sync(a, aSince);
    assert.deepEqual(changed(next), []);
    assert.deepEqual(await keysChanges(a, aSince, String(next["next_batch"])), { changed: [], left: [] });
    // A device_id the user does not have yet is a new device.
    await login(b, { device_id: "BRANDNEW" });
    assert.deepEqual(changed(await sync(a, String(next["next_batch"]))), [b.userId]);
  });

  it("tells a user sharing a room when a device is deleted, when one logs out, and at /logout/all", async () => {
    const { a, b, aSince } = await setUp();
    const second = await login(b);
    const third = await login(b);
    const afterLogins = String((await sync(a, aSince))["next_batch"]);
    const uia = await call("DELETE", `/_matrix/client/v3/devices/${second.deviceId}`, {}, b.token);
    assert.equal(uia.status, 401, uia.body);
    assert.deepEqual(changed(await sync(a, afterLogins)), [], "nothing deleted before auth");
    const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: b.userId }, password: PASSWORD, session: uia.json()["session"] };
    await ok(call("DELETE", `/_matrix/client/v3/devices/${second.deviceId}`, { auth }, b.token));
    const deleted = await sync(a, afterLogins);
    assert.deepEqual(changed(deleted), [b.userId]);
    assert.deepEqual(await keysChanges(a, afterLogins, String(deleted["next_batch"])), { changed: [b.userId], left: [] });
    await ok(call("POST", "/_matrix/client/v3/logout", {}, third.token));
    const loggedOut = await sync(a, String(deleted["next_batch"]));
    assert.deepEqual(changed(loggedOut), [b.userId]);
    assert.deepEqual((await ok(call("GET", "/_matrix/client/v3/devices", undefined, b.token)))["devices"].map((d: J) => d["device_id"]), [b.deviceId]);
    assert.deepEqual(changed(await sync(a, String(loggedOut["next_batch"]))), [], "nothing since");
    await ok(call("POST", "/_matrix/client/v3/logout/all", {}, b.token));
    assert.deepEqual(changed(await sync(a, String(loggedOut["next_batch"]))), [b.userId], "/logout/all deletes the last device");
  });
});
