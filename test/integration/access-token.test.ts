/**
 * The app looks access tokens up in the user store: a live token reaches
 * the handler with its user and device; an expired one, one of a
 * deactivated user, or an unknown one is 401 M_UNKNOWN_TOKEN.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../src/core/clock.js";
import type { UserId } from "../../src/core/ids/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";

const NOW = 1_764_000_000_000;
const clock: Clock = { now: () => NOW, sleep: async () => {} };

describe("access tokens from the user store", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({ startOptions: { clock } });
    const users = zion.homeserver!.storage.users;
    for (const [local, token, validUntilTs] of [["alice", "tok-alice", null], ["bob", "tok-bob-old", NOW - 1], ["carol", "tok-carol", null]] as const) {
      const userId = `@${local}:zion.test` as UserId;
      await users.createUser({ userId, passwordHash: null, createdTs: NOW - 10_000 });
      await users.createLogin({ userId, deviceId: `DEV${local}`, accessToken: token, validUntilTs, nowTs: NOW - 5_000 });
    }
    await users.deactivateUser("@carol:zion.test" as UserId);
  });
  after(() => zion?.stop());

  const call = (token: string) => httpCall(`${zion.clientUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } });

  it("hands a live token's user and device to the handler", async () => {
    const r = await call("tok-alice");
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json(), { user_id: "@alice:zion.test", device_id: "DEValice", is_guest: false });
  });

  it("refuses an expired token, a deactivated user's token and an unknown token with 401 M_UNKNOWN_TOKEN", async () => {
    for (const token of ["tok-bob-old", "tok-carol", "tok-nobody"]) {
      const r = await call(token);
      assert.equal(r.status, 401, token);
      assert.equal(r.json()["errcode"], "M_UNKNOWN_TOKEN", token);
    }
  });
});
