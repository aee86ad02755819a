/**
 * Three Zion processes (hs1.test by `.well-known`, hs2.test by SRV, hs3.test by A record; test/harness/three-servers.ts)
 * share one room: created on hs1, joined by alias from hs2 and hs3, with matrix-js-sdk 37.5 users on each: messages,
 * typing, read receipts, display names, leave, kick and ban across servers, and an invite from hs2 to a user on hs3.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Method } from "matrix-js-sdk";
import { messageBodies, startThreeServers, timelineOf, waitUntil, type ThreeServers, type ThreeUser } from "../harness/three-servers.js";

describe("three Zion servers share a room", { timeout: 600_000 }, () => {
  let net: ThreeServers;
  let alice: ThreeUser, bob: ThreeUser, carol: ThreeUser;
  let roomId: string;
  const everyone = () => [alice, bob, carol];

  before(async () => {
    net = await startThreeServers();
    [alice, bob, carol] = await Promise.all([net.register("hs1", "alice"), net.register("hs2", "bob"), net.register("hs3", "carol")]);
  });
  after(() => net?.stop());

  const joinedOn = async (user: ThreeUser, who: readonly string[]): Promise<true | undefined> => {
    const members = (await user.sdk.getJoinedRoomMembers(roomId)).joined;
    return who.every((u) => u in members) && Object.keys(members).length === who.length ? true : undefined;
  };

  it("a room on hs1 is joined by alias from hs2 (found by SRV) and hs3 (found by A record), and all three see all three members", async () => {
    ({ room_id: roomId } = await alice.sdk.createRoom({ room_alias_name: "lobby", preset: "public_chat" as never, name: "Lobby" }));
    assert.match(roomId, /:hs1\.test$/);
    const viaBob = await bob.sdk.joinRoom("#lobby:hs1.test");
    assert.equal(viaBob.roomId, roomId);
    const viaCarol = await carol.sdk.joinRoom("#lobby:hs1.test");
    assert.equal(viaCarol.roomId, roomId);
    const ids = everyone().map((u) => u.userId);
    for (const u of everyone()) await waitUntil(`${u.userId} sees three joined members`, () => joinedOn(u, ids));
    // Each server reached the others through DNS only: hs2 and hs3 asked hs1, hs1 sent the joins on to the others.
    assert.ok(net.connections("hs2", "hs1") > 0 && net.connections("hs3", "hs1") > 0 && net.connections("hs1", "hs3") > 0);
  });

  it("messages from every server reach every other, in the order each server sent them", async () => {
    const sent: Record<string, string[]> = {};
    // Each user sends 10 messages, one after another; the three users send at the same time.
    await Promise.all(everyone().map(async (u) => {
      sent[u.userId] = [];
      for (let i = 0; i < 10; i++) {
        const body = `${u.hs} message ${i}`;
        await u.sdk.sendMessage(roomId, { msgtype: "m.text", body } as never);
        sent[u.userId]!.push(body);
      }
    }));
    const all = Object.values(sent).flat();
    for (const viewer of everyone()) {
      const bodies = await waitUntil(`${viewer.userId} sees all 30 messages`, async () => {
        const b = await messageBodies(viewer, roomId);
        return all.every((x) => b.includes(x)) ? b : undefined;
      });
      assert.equal(bodies.length, new Set(bodies).size, `no message twice on ${viewer.hs}`);
      for (const [sender, own] of Object.entries(sent)) {
        assert.deepEqual(bodies.filter((b) => own.includes(b)), own, `${viewer.hs} shows ${sender}'s messages in the order sent`);
      }
    }
  });

  it("a display-name change on hs2 reaches hs1 and hs3 as bob's new member event", async () => {
    await bob.sdk.setDisplayName("Bob the Builder");
    for (const viewer of [alice, carol]) {
      await waitUntil(`${viewer.hs} sees bob's new display name`, async () => {
        const m = (await viewer.sdk.getJoinedRoomMembers(roomId)).joined[bob.userId];
        return m?.display_name === "Bob the Builder" ? true : undefined;
      });
    }
    const profile = await alice.sdk.getProfileInfo(bob.userId);
    assert.equal(profile.displayname, "Bob the Builder", "hs1 asks hs2 for bob's profile over federation");
  });

  /** The room's ephemeral events in `user`'s /sync right now (timeout 0). */
  const ephemeral = async (user: ThreeUser): Promise<Array<{ type: string; content: Record<string, unknown> }>> => {
    const s = await user.sdk.http.authedRequest<{ rooms?: { join?: Record<string, { ephemeral?: { events: Array<{ type: string; content: Record<string, unknown> }> } }> } }>(
      Method.Get, "/sync", { timeout: "0" },
    );
    return s.rooms?.join?.[roomId]?.ephemeral?.events ?? [];
  };

  it("alice typing on hs1 shows on hs2 and hs3, and stops there when she stops", async () => {
    await alice.sdk.sendTyping(roomId, true, 30_000);
    const typingOn = async (u: ThreeUser): Promise<string[]> => ((await ephemeral(u)).find((e) => e.type === "m.typing")?.content["user_ids"] ?? []) as string[];
    for (const viewer of [bob, carol]) {
      await waitUntil(`${viewer.hs} shows alice typing`, async () => ((await typingOn(viewer)).includes(alice.userId) ? true : undefined));
    }
    await alice.sdk.sendTyping(roomId, false, 0);
    for (const viewer of [bob, carol]) {
      await waitUntil(`${viewer.hs} shows alice no longer typing`, async () => (!(await typingOn(viewer)).includes(alice.userId) ? true : undefined));
    }
  });

  it("carol's read receipt on hs3 reaches hs1 and hs2 for the event she read", async () => {
    const bodies = await timelineOf(carol, roomId);
    const last = bodies.filter((e) => e.type === "m.room.message").at(-1)!;
    await carol.sdk.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(last.event_id)}`, undefined, {});
    for (const viewer of [alice, bob]) {
      await waitUntil(`${viewer.hs} holds carol's receipt`, async () => {
        for (const e of await ephemeral(viewer)) {
          if (e.type !== "m.receipt") continue;
          const read = (e.content[last.event_id] as Record<string, Record<string, unknown>> | undefined)?.["m.read"];
          if (read && carol.userId in read) return true;
        }
        return undefined;
      });
    }
  });

  it("carol on hs3 leaves, and every server sees her gone; she can join again by alias", async () => {
    await carol.sdk.leave(roomId);
    for (const viewer of [alice, bob]) await waitUntil(`${viewer.hs} sees carol leave`, () => joinedOn(viewer, [alice.userId, bob.userId]));
    await carol.sdk.joinRoom("#lobby:hs1.test");
    for (const viewer of everyone()) await waitUntil(`${viewer.hs} sees carol back`, () => joinedOn(viewer, everyone().map((u) => u.userId)));
  });

  it("alice on hs1 kicks carol on hs3: hs2 and hs3 see the kick with its reason", async () => {
    await alice.sdk.kick(roomId, carol.userId, "out you go");
    for (const viewer of [alice, bob]) await waitUntil(`${viewer.hs} sees the kick`, () => joinedOn(viewer, [alice.userId, bob.userId]));
    const kick = await waitUntil("hs2 holds the kick", async () => {
      const t = await timelineOf(bob, roomId);
      return t.find((e) => e.type === "m.room.member" && e.state_key === carol.userId && e.sender === alice.userId && e.content["membership"] === "leave");
    });
    assert.equal(kick.content["reason"], "out you go");
    const onHs3 = await waitUntil("hs3 holds the kick", async () => {
      const m = await carol.sdk.getStateEvent(roomId, "m.room.member", carol.userId).catch(() => undefined);
      return m?.["membership"] === "leave" ? m : undefined;
    });
    assert.equal(onHs3["reason"], "out you go");
    await carol.sdk.joinRoom("#lobby:hs1.test");
    for (const viewer of everyone()) await waitUntil(`${viewer.hs} sees carol rejoin after the kick`, () => joinedOn(viewer, everyone().map((u) => u.userId)));
  });

  it("alice bans carol: every server shows the ban, and carol's server can no longer join her to the room (M_FORBIDDEN)", async () => {
    await alice.sdk.ban(roomId, carol.userId, "really out");
    for (const viewer of everyone()) {
      await waitUntil(`${viewer.hs} sees carol banned`, async () => {
        const s = await viewer.sdk.getStateEvent(roomId, "m.room.member", carol.userId).catch(() => undefined);
        return s?.["membership"] === "ban" ? true : undefined;
      });
    }
    const refused = await carol.sdk.joinRoom("#lobby:hs1.test").then(
      () => assert.fail("a banned user cannot join"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(refused.errcode, "M_FORBIDDEN", JSON.stringify(refused));
    // The other two keep talking.
    await bob.sdk.sendMessage(roomId, { msgtype: "m.text", body: "after the ban" } as never);
    await waitUntil("hs1 sees bob's message after the ban", async () => ((await messageBodies(alice, roomId)).includes("after the ban") ? true : undefined));
  });

  it("bob on hs2 invites dave on hs3: dave's sync has the invite from bob, he accepts it, and all three servers list him joined", async () => {
    const dave = await net.register("hs3", "dave");
    // The room's invite level is 50: alice on hs1 raises bob to it, and hs2 must hold that before bob can invite.
    await alice.sdk.setPowerLevel(roomId, bob.userId, 50);
    await waitUntil("hs2 holds bob's power level 50", async () => {
      const pl = await bob.sdk.getStateEvent(roomId, "m.room.power_levels", "").catch(() => undefined);
      return (pl?.["users"] as Record<string, number> | undefined)?.[bob.userId] === 50 ? true : undefined;
    });
    await bob.sdk.invite(roomId, dave.userId);
    const invited = await waitUntil("dave's /sync lists the invite", async () => {
      const s = await dave.sdk.http.authedRequest<{ rooms?: { invite?: Record<string, { invite_state?: { events?: { type: string; sender: string; state_key?: string; content: Record<string, unknown> }[] } }> } }>(Method.Get, "/sync", { timeout: "0" });
      return s.rooms?.invite?.[roomId];
    });
    const member = invited.invite_state?.events?.find((e) => e.type === "m.room.member" && e.state_key === dave.userId);
    assert.equal(member?.sender, bob.userId, "the invite is bob's");
    assert.equal(member?.content["membership"], "invite");
    for (const viewer of [alice, bob]) {
      await waitUntil(`${viewer.hs} sees dave invited`, async () => {
        const m = await viewer.sdk.getStateEvent(roomId, "m.room.member", dave.userId).catch(() => undefined);
        return m?.["membership"] === "invite" ? true : undefined;
      });
    }
    await dave.sdk.joinRoom(roomId);
    for (const viewer of [alice, bob, dave]) {
      await waitUntil(`${viewer.hs} sees dave joined`, async () => ((await viewer.sdk.getJoinedRoomMembers(roomId)).joined[dave.userId] ? true : undefined));
    }
  });
});
