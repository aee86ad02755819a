/**
 * Whom each server talks to, across three Zion processes (test/harness/three-servers.ts): hs1 federating only with
 * hs2 through `federation_domain_whitelist`, and a partition between hs1 and hs2 (their proxies cut, both still
 * reaching hs3) during which both change power levels and ban each other's users, healed afterwards.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Method } from "matrix-js-sdk";
import { messageBodies, startThreeServers, waitUntil, type ThreeServers, type ThreeUser } from "../harness/three-servers.js";

type MatrixErr = { errcode?: string; httpStatus?: number };
const failure = (p: Promise<unknown>, what: string): Promise<MatrixErr> => p.then(() => assert.fail(`${what} should fail`), (e: MatrixErr) => e);

describe("hs1 with federation_domain_whitelist: [hs1.test, hs2.test]", { timeout: 600_000 }, () => {
  let net: ThreeServers;
  let alice: ThreeUser, bob: ThreeUser, carol: ThreeUser;
  let roomId: string;

  before(async () => {
    net = await startThreeServers({ hs1: { federation_domain_whitelist: ["hs1.test", "hs2.test"] } });
    [alice, bob, carol] = await Promise.all([net.register("hs1", "alice"), net.register("hs2", "bob"), net.register("hs3", "carol")]);
    ({ room_id: roomId } = await alice.sdk.createRoom({ room_alias_name: "fenced", preset: "public_chat" as never }));
  });
  after(() => net?.stop());

  it("hs2, on the list, joins hs1's room and the two exchange messages", async () => {
    await bob.sdk.joinRoom("#fenced:hs1.test");
    await bob.sdk.sendMessage(roomId, { msgtype: "m.text", body: "bob on the list" } as never);
    await alice.sdk.sendMessage(roomId, { msgtype: "m.text", body: "alice answers" } as never);
    await waitUntil("hs1 sees bob's message", async () => ((await messageBodies(alice, roomId)).includes("bob on the list") ? true : undefined));
    await waitUntil("hs2 sees alice's answer", async () => ((await messageBodies(bob, roomId)).includes("alice answers") ? true : undefined));
  });

  it("hs3 cannot join hs1's room, by alias or by id through hs1 (M_FORBIDDEN), and hs1 never opens a connection to hs3", async () => {
    const byAlias = await failure(carol.sdk.joinRoom("#fenced:hs1.test"), "joining by alias");
    assert.equal(byAlias.errcode, "M_FORBIDDEN", JSON.stringify(byAlias));
    assert.equal(byAlias.httpStatus, 403);
    const byId = await failure(carol.sdk.joinRoom(roomId, { viaServers: ["hs1.test"] }), "joining by id");
    assert.equal(byId.errcode, "M_FORBIDDEN", JSON.stringify(byId));
    assert.ok(net.connections("hs3", "hs1") > 0, "hs3 did try: its requests reached hs1 and were refused");
    // hs1 refused before fetching hs3's keys, and sent it nothing: not one TCP connection from hs1 to hs3.
    await alice.sdk.sendMessage(roomId, { msgtype: "m.text", body: "after the refusal" } as never);
    await waitUntil("hs2 sees the message after the refusal", async () => ((await messageBodies(bob, roomId)).includes("after the refusal") ? true : undefined));
    assert.equal(net.connections("hs1", "hs3"), 0);
    const members = Object.keys((await alice.sdk.getJoinedRoomMembers(roomId)).joined).sort();
    assert.deepEqual(members, [alice.userId, bob.userId].sort());
  });
});

describe("a partition between hs1 and hs2, healed: all three servers end with the same current state", { timeout: 600_000 }, () => {
  let net: ThreeServers;
  let alice: ThreeUser, dave: ThreeUser, bob: ThreeUser, erin: ThreeUser, carol: ThreeUser;
  let roomId: string;
  const partitionPls: string[] = [];

  before(async () => {
    net = await startThreeServers();
    [alice, dave, bob, erin, carol] = await Promise.all([
      net.register("hs1", "alice"), net.register("hs1", "dave"), net.register("hs2", "bob"), net.register("hs2", "erin"), net.register("hs3", "carol"),
    ]);
  });
  after(() => net?.stop());

  /** The room's current state as `u`'s server answers GET /state: (type, state_key) -> event id. */
  const stateOf = async (u: ThreeUser): Promise<Record<string, string>> => {
    const events = await u.sdk.http.authedRequest<Array<{ type: string; state_key: string; event_id: string }>>(Method.Get, `/rooms/${encodeURIComponent(roomId)}/state`);
    return Object.fromEntries(events.map((e) => [`${e.type}|${e.state_key}`, e.event_id]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
  };
  const membership = async (viewer: ThreeUser, target: ThreeUser): Promise<string | undefined> =>
    (await viewer.sdk.getStateEvent(roomId, "m.room.member", target.userId).catch(() => undefined))?.["membership"] as string | undefined;

  it("sets up: a room on hs1 that everyone joins, bob on hs2 at power level 100 beside alice", async () => {
    ({ room_id: roomId } = await alice.sdk.createRoom({ room_alias_name: "split", preset: "public_chat" as never }));
    for (const u of [dave, bob, erin, carol]) await u.sdk.joinRoom("#split:hs1.test");
    await alice.sdk.setPowerLevel(roomId, bob.userId, 100);
    for (const v of [alice, bob, carol]) {
      await waitUntil(`${v.hs} sees five members and bob at 100`, async () => {
        const joined = Object.keys((await v.sdk.getJoinedRoomMembers(roomId)).joined).length;
        const pl = await v.sdk.getStateEvent(roomId, "m.room.power_levels", "");
        return joined === 5 && (pl["users"] as Record<string, number>)[bob.userId] === 100 ? true : undefined;
      });
    }
  });

  it("while cut off from each other, hs1 and hs2 change power levels and ban each other's users; hs3 hears both sides", async () => {
    net.cut("hs1", "hs2");
    const hs1to2 = net.connections("hs1", "hs2");
    // hs1's side: alice raises carol to 50 and bans erin (hs2). hs2's side: bob sets events_default 10 and bans dave (hs1).
    const pl1 = await alice.sdk.getStateEvent(roomId, "m.room.power_levels", "");
    partitionPls.push((await alice.sdk.sendStateEvent(roomId, "m.room.power_levels" as never, { ...pl1, users: { ...(pl1["users"] as object), [carol.userId]: 50 } } as never, "")).event_id);
    await alice.sdk.ban(roomId, erin.userId, "hs1 says so");
    await alice.sdk.sendMessage(roomId, { msgtype: "m.text", body: "hs1 side" } as never);
    const pl2 = await bob.sdk.getStateEvent(roomId, "m.room.power_levels", "");
    partitionPls.push((await bob.sdk.sendStateEvent(roomId, "m.room.power_levels" as never, { ...pl2, events_default: 10 } as never, "")).event_id);
    await bob.sdk.ban(roomId, dave.userId, "hs2 says so");
    await bob.sdk.sendMessage(roomId, { msgtype: "m.text", body: "hs2 side" } as never);
    await waitUntil("hs3 holds both bans", async () => ((await membership(carol, erin)) === "ban" && (await membership(carol, dave)) === "ban" ? true : undefined));
    // Each side still sees only its own ban: the partition holds.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await membership(alice, dave), "join", "hs1 has not heard of bob's ban");
    assert.equal(await membership(bob, erin), "join", "hs2 has not heard of alice's ban");
    assert.ok(net.connections("hs1", "hs2") >= hs1to2, "hs1 kept trying hs2 (each attempt reset by the cut proxy)");
  });

  it("after the partition heals, hs1, hs2 and hs3 hold the same current state (GET /state), with both bans and both power-level changes merged", async () => {
    net.heal("hs1", "hs2");
    // Both sides speak once more, so each server's next event joins its forks.
    await alice.sdk.sendMessage(roomId, { msgtype: "m.text", body: "healed on hs1" } as never);
    await bob.sdk.sendMessage(roomId, { msgtype: "m.text", body: "healed on hs2" } as never);
    const want = ["hs1 side", "hs2 side", "healed on hs1", "healed on hs2"];
    for (const v of [alice, bob, carol]) {
      await waitUntil(`${v.hs} sees all four messages`, async () => { const b = await messageBodies(v, roomId); return want.every((w) => b.includes(w)) ? true : undefined; }, 60_000);
    }
    let last: Record<string, string>[] = [];
    const states = await waitUntil("the three servers agree on the room's state", async () => {
      last = await Promise.all([alice, bob, carol].map(stateOf));
      return JSON.stringify(last[0]) === JSON.stringify(last[1]) && JSON.stringify(last[1]) === JSON.stringify(last[2]) ? last : undefined;
    }, 60_000, () => JSON.stringify(last.map((s, i) => Object.entries(s).filter(([k, v]) => last.some((o, j) => j !== i && o[k] !== v)))));
    assert.ok(Object.keys(states[0]!).length >= 8);
    assert.ok(partitionPls.includes(states[0]!["m.room.power_levels|"]!), "the power levels are one of the two made during the partition");
    for (const v of [alice, bob, carol]) {
      assert.equal(await membership(v, erin), "ban", `${v.hs}: erin banned`);
      assert.equal(await membership(v, dave), "ban", `${v.hs}: dave banned`);
    }
  });
});
