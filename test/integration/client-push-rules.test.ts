/**
 * GET and PUT /pushrules/global/{kind}/{ruleId}/actions and /enabled on a real Zion over loopback (SQLite), for
 * server-default rules (stored as changes to the default) and a user's own rule: the answers, GET /pushrules/
 * showing the change, bad input refused with nothing changed, and the changed rule deciding how later messages count
 * in /sync's unread_notifications (events already received keep what they counted).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher } from "../../src/api/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rule and sync bodies are read field by field
const enc = encodeURIComponent;

describe("push rule actions and enabled", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: { enable_registration: true, enable_registration_without_verification: true, rc_registration: generous, rc_message: generous },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok, expectError } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; token: string }
  let n = 0;
  const register = async (name = `r${++n}`): Promise<Session> => {
    const j = await ok(call("POST", "/_matrix/client/v3/register", { username: name, password: PASSWORD, auth: { type: "m.login.dummy" } }));
    return { userId: j["user_id"] as UserId, token: String(j["access_token"]) };
  };
  const rulePath = (kind: string, ruleId: string, attr: string) => `/_matrix/client/v3/pushrules/global/${kind}/${enc(ruleId)}/${attr}`;
  const getAttr = (s: Session, kind: string, ruleId: string, attr: "actions" | "enabled") => ok(call("GET", rulePath(kind, ruleId, attr), undefined, s.token));
  const putAttr = (s: Session, kind: string, ruleId: string, attr: "actions" | "enabled", body: unknown) => call("PUT", rulePath(kind, ruleId, attr), body, s.token);
  const ruleIn = (all: J, kind: string, ruleId: string): J | undefined => (all["global"][kind] as J[]).find((r) => r["rule_id"] === ruleId);
  const allRules = (s: Session): Promise<J> => ok(call("GET", "/_matrix/client/v3/pushrules/", undefined, s.token));

  it("reads and changes the actions and enabled of server-default rules, and GET /pushrules/ shows the change", async () => {
    const b = await register();
    assert.deepEqual(await getAttr(b, "underride", ".m.rule.message", "actions"), { actions: ["notify"] });
    assert.deepEqual(await getAttr(b, "underride", ".m.rule.message", "enabled"), { enabled: true });
    const highlight = await getAttr(b, "override", ".m.rule.contains_display_name", "actions");
    assert.deepEqual(highlight, { actions: ["notify", { set_tweak: "sound", value: "default" }, { set_tweak: "highlight" }] });

    const quiet = ["notify", { set_tweak: "sound", value: "ping" }];
    assert.deepEqual(await ok(putAttr(b, "underride", ".m.rule.message", "actions", { actions: quiet })), {});
    assert.deepEqual(await getAttr(b, "underride", ".m.rule.message", "actions"), { actions: quiet });
    assert.deepEqual(await ok(putAttr(b, "override", ".m.rule.contains_display_name", "enabled", { enabled: false })), {});
    assert.deepEqual(await getAttr(b, "override", ".m.rule.contains_display_name", "enabled"), { enabled: false });

    const all = await allRules(b);
    assert.deepEqual(ruleIn(all, "underride", ".m.rule.message")?.["actions"], quiet);
    assert.equal(ruleIn(all, "underride", ".m.rule.message")?.["enabled"], true);
    assert.equal(ruleIn(all, "override", ".m.rule.contains_display_name")?.["enabled"], false);
    assert.equal(ruleIn(all, "override", ".m.rule.contains_display_name")?.["default"], true, "still the server-default rule");
    // Another user's rules are untouched.
    const other = await register();
    assert.deepEqual(await getAttr(other, "underride", ".m.rule.message", "actions"), { actions: ["notify"] });
    assert.deepEqual(await getAttr(other, "override", ".m.rule.contains_display_name", "enabled"), { enabled: true });
  });

  it("reads and changes the actions and enabled of a user's own rule", async () => {
    const b = await register();
    const roomId = "!somewhere:zion.test";
    await ok(call("PUT", `/_matrix/client/v3/pushrules/global/room/${enc(roomId)}`, { actions: [] }, b.token));
    assert.deepEqual(await getAttr(b, "room", roomId, "actions"), { actions: [] });
    assert.deepEqual(await getAttr(b, "room", roomId, "enabled"), { enabled: true });
    await ok(putAttr(b, "room", roomId, "actions", { actions: ["notify", { set_tweak: "highlight", value: false }] }));
    await ok(putAttr(b, "room", roomId, "enabled", { enabled: false }));
    assert.deepEqual(await getAttr(b, "room", roomId, "actions"), { actions: ["notify", { set_tweak: "highlight", value: false }] });
    assert.deepEqual(await getAttr(b, "room", roomId, "enabled"), { enabled: false });
    const rule = ruleIn(await allRules(b), "room", roomId);
    assert.deepEqual(rule, { rule_id: roomId, default: false, enabled: false, actions: ["notify", { set_tweak: "highlight", value: false }] });
  });

  it("answers 404 M_NOT_FOUND for an unknown rule and 400 naming the field for bad actions or enabled, changing nothing", async () => {
    const b = await register();
    await ok(call("PUT", "/_matrix/client/v3/pushrules/global/content/mine", { actions: ["notify"], pattern: "cake" }, b.token));
    const before = await allRules(b);
    const storedBefore = await zion.homeserver!.storage.pushRules.get(b.userId);
    for (const attr of ["actions", "enabled"] as const) {
      const body = attr === "actions" ? { actions: [] } : { enabled: false };
      for (const [kind, ruleId] of [["content", "nope"], ["underride", ".m.rule.nope"], ["override", ".m.rule.message"], ["room", "mine"]] as const) {
        await expectError(call("GET", rulePath(kind, ruleId, attr), undefined, b.token), 404, "M_NOT_FOUND");
        await expectError(putAttr(b, kind, ruleId, attr, body), 404, "M_NOT_FOUND");
      }
    }
    const msg = (body: unknown) => putAttr(b, "underride", ".m.rule.message", "actions", body);
    await expectError(msg({ actions: "notify" }), 400, "M_BAD_JSON", /actions/);
    await expectError(msg({ actions: ["notify", "shout"] }), 400, "M_INVALID_PARAM", /actions\[1\]/);
    await expectError(msg({ actions: [{ set_tweak: 5 }] }), 400, "M_INVALID_PARAM", /actions\[0\]\.set_tweak/);
    await expectError(msg({ actions: [{ set_tweak: "highlight", value: "yes" }] }), 400, "M_INVALID_PARAM", /actions\[0\]\.value/);
    await expectError(msg({ actions: [7] }), 400, "M_BAD_JSON", /actions\[0\]/);
    await expectError(msg({}), 400, "M_MISSING_PARAM", /actions/);
    await expectError(msg(["notify"]), 400, "M_BAD_JSON", /body/);
    await expectError(putAttr(b, "content", "mine", "actions", { actions: ["loud"] }), 400, "M_INVALID_PARAM", /actions\[0\]/);
    const en = (body: unknown) => putAttr(b, "underride", ".m.rule.message", "enabled", body);
    await expectError(en({ enabled: "false" }), 400, "M_BAD_JSON", /enabled/);
    await expectError(en({ enabled: 0 }), 400, "M_BAD_JSON", /enabled/);
    await expectError(en({}), 400, "M_MISSING_PARAM", /enabled/);
    await expectError(putAttr(b, "content", "mine", "enabled", { enabled: null }), 400, "M_BAD_JSON", /enabled/);
    await expectError(call("PUT", "/_matrix/client/v3/pushrules/global/underride/.m.rule.message/enabled", "{nope", b.token), 400, "M_NOT_JSON");
    assert.deepEqual(await allRules(b), before, "no refusal changed a rule");
    assert.deepEqual(await zion.homeserver!.storage.pushRules.get(b.userId), storedBefore);
  });

  it("counts later messages by the changed rule: .m.rule.message with no actions or disabled stops counting, a display-name rule without highlight stops highlighting", async () => {
    const a = await register();
    const b = await register("bee");
    const c = await register();
    const created = await ok(call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, a.token));
    const roomId = created["room_id"] as RoomId;
    for (const s of [b, c]) await ok(call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {}, s.token));
    let txn = 0;
    const say = (body: string) => ok(call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${++txn}`, { msgtype: "m.text", body }, a.token));
    const counts = async (): Promise<J> => (await ok(call("GET", "/_matrix/client/v3/sync?set_presence=offline", undefined, b.token)))["rooms"]["join"][roomId]["unread_notifications"];

    await say("one"); // three members: the default .m.rule.message underride notifies
    assert.deepEqual(await counts(), { notification_count: 1, highlight_count: 0 });
    await ok(putAttr(b, "underride", ".m.rule.message", "actions", { actions: [] }));
    await say("two");
    assert.deepEqual(await counts(), { notification_count: 1, highlight_count: 0 }, "no actions: the message does not count");
    await ok(putAttr(b, "underride", ".m.rule.message", "actions", { actions: ["notify"] }));
    await say("three");
    assert.deepEqual(await counts(), { notification_count: 2, highlight_count: 0 });
    await ok(putAttr(b, "underride", ".m.rule.message", "enabled", { enabled: false }));
    await say("four");
    assert.deepEqual(await counts(), { notification_count: 2, highlight_count: 0 }, "disabled: the message does not count");
    await ok(putAttr(b, "underride", ".m.rule.message", "enabled", { enabled: true }));

    await say("hello bee");
    assert.deepEqual(await counts(), { notification_count: 3, highlight_count: 1 }, "the display name highlights by default");
    await ok(putAttr(b, "override", ".m.rule.contains_display_name", "actions", { actions: ["notify"] }));
    await say("bee again");
    assert.deepEqual(await counts(), { notification_count: 4, highlight_count: 1 }, "notified, not highlighted");
    // c's rules were never changed: every message counted for c.
    const cCounts = (await ok(call("GET", "/_matrix/client/v3/sync?set_presence=offline", undefined, c.token)))["rooms"]["join"][roomId]["unread_notifications"];
    assert.deepEqual(cCounts, { notification_count: 6, highlight_count: 0 });
  });
});
