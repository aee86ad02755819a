/**
 * `presence.enabled: false` at the client API, beside a server with presence enabled (so every assertion of the
 * disabled one has a counterpart that shows what it would see otherwise). Two real Zions on loopback (SQLite):
 * - PUT /presence/{userId}/status is accepted and ignored (one's own only, the body still checked), as Synapse;
 * - GET /presence/{userId}/status answers {presence: "offline"} for anyone, to anyone, as Synapse;
 * - /sync carries no m.presence, and neither set_presence nor a sync without it changes anything;
 * - nothing reaches the presence store, whose writes are what the federation EDU path sends on.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher } from "../../src/api/index.js";
import type { UserId } from "../../src/core/ids/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field
const enc = encodeURIComponent;

for (const enabled of [true, false] as const)
describe(`presence at the client API with presence.enabled: ${enabled}`, () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: {
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_login: { address: generous, account: generous, failed_attempts: generous },
        presence: { enabled },
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok, expectError } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string }
  let n = 0;
  const register = async (): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: `p${++n}`, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]) };
  };
  const sync = (s: Session, q: string): Promise<J> => ok(call("GET", `/_matrix/client/v3/sync?${q}`, undefined, s.token));
  const presenceIn = (j: J, userId: UserId): J | undefined => (j["presence"]?.["events"] ?? []).find((e: J) => e["sender"] === userId)?.["content"];
  const getPresence = (viewer: Session, target: UserId) => call("GET", `/_matrix/client/v3/presence/${enc(target)}/status`, undefined, viewer.token);
  /** Two users sharing a room, each synced once with set_presence=offline (which records nothing either way). */
  const pair = async (): Promise<{ a: Session; b: Session; aSince: string; bSince: string }> => {
    const a = await register();
    const b = await register();
    const room = await ok(call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, a.token));
    await ok(call("POST", `/_matrix/client/v3/join/${enc(String(room["room_id"]))}`, {}, b.token));
    const aSince = String((await sync(a, "set_presence=offline"))["next_batch"]);
    const bSince = String((await sync(b, "set_presence=offline"))["next_batch"]);
    return { a, b, aSince, bSince };
  };

  it(enabled
    ? "stores PUT /presence and shows it to a room member in /sync and GET"
    : "accepts PUT /presence and ignores it: no m.presence in /sync, GET answers offline, nothing stored", async () => {
    const { a, b, bSince } = await pair();
    const positionBefore = await zion.homeserver!.storage.presence.maxPosition();
    assert.deepEqual(await ok(call("PUT", `/_matrix/client/v3/presence/${enc(a.userId)}/status`, { presence: "unavailable", status_msg: "lunch" }, a.token)), {});
    const seen = await sync(b, `set_presence=offline&since=${bSince}`);
    const got = await ok(getPresence(b, a.userId));
    const stored = await zion.homeserver!.storage.presence.get(a.userId);
    if (enabled) {
      assert.equal(presenceIn(seen, a.userId)?.["presence"], "unavailable");
      assert.equal(got["presence"], "unavailable");
      assert.equal(got["status_msg"], "lunch");
      assert.equal(stored?.state, "unavailable");
      assert.ok((await zion.homeserver!.storage.presence.maxPosition()) > positionBefore);
    } else {
      assert.deepEqual(seen["presence"], { events: [] });
      assert.deepEqual(got, { presence: "offline" });
      assert.equal(stored, null, "nothing stored, so nothing for federation to send");
      assert.equal(await zion.homeserver!.storage.presence.maxPosition(), positionBefore);
    }
  });

  it(enabled
    ? "marks a user syncing without set_presence online and one with set_presence=unavailable unavailable"
    : "changes nothing for a sync without set_presence or with set_presence=unavailable", async () => {
    const { a, b, aSince, bSince } = await pair();
    await sync(a, `since=${aSince}`); // absent set_presence: online
    const afterOnline = await sync(b, `set_presence=offline&since=${bSince}`);
    const online = await ok(getPresence(b, a.userId));
    await sync(b, `set_presence=unavailable&since=${afterOnline["next_batch"]}`);
    const unavailable = await ok(getPresence(a, b.userId));
    if (enabled) {
      assert.equal(presenceIn(afterOnline, a.userId)?.["presence"], "online");
      assert.equal(online["presence"], "online");
      assert.equal(unavailable["presence"], "unavailable");
    } else {
      assert.deepEqual(afterOnline["presence"], { events: [] });
      assert.deepEqual(online, { presence: "offline" });
      assert.deepEqual(unavailable, { presence: "offline" });
      assert.equal(await zion.homeserver!.storage.presence.get(a.userId), null);
      assert.equal(await zion.homeserver!.storage.presence.get(b.userId), null);
    }
  });

  it(enabled
    ? "refuses GET of a stranger's presence with 403 and of an unknown user with 404"
    : "answers offline (200) for a stranger and an unknown user, as Synapse", async () => {
    const a = await register();
    const stranger = await register();
    if (enabled) {
      await expectError(getPresence(stranger, a.userId), 403, "M_FORBIDDEN");
      await expectError(getPresence(stranger, "@nobody:zion.test" as UserId), 404, "M_NOT_FOUND");
    } else {
      assert.deepEqual(await ok(getPresence(stranger, a.userId)), { presence: "offline" });
      assert.deepEqual(await ok(getPresence(stranger, "@nobody:zion.test" as UserId)), { presence: "offline" });
    }
    await expectError(getPresence(stranger, "not-a-user" as UserId), 400, "M_INVALID_PARAM", /userId/);
  });

  it("refuses setting another user's presence (403) and a bad body (400 naming the field) either way", async () => {
    const a = await register();
    const b = await register();
    await expectError(call("PUT", `/_matrix/client/v3/presence/${enc(b.userId)}/status`, { presence: "online" }, a.token), 403, "M_FORBIDDEN");
    await expectError(call("PUT", `/_matrix/client/v3/presence/${enc(a.userId)}/status`, { presence: "busy" }, a.token), 400, "M_BAD_JSON", /presence/);
    await expectError(call("PUT", `/_matrix/client/v3/presence/${enc(a.userId)}/status`, { presence: "online", status_msg: 5 }, a.token), 400, "M_BAD_JSON", /status_msg/);
    assert.equal(await zion.homeserver!.storage.presence.get(b.userId), null);
    assert.equal(await zion.homeserver!.storage.presence.get(a.userId), null);
  });
});
