/**
 * Three Zion processes (hs1.test by `.well-known`, hs2.test by SRV, hs3.test by A record; test/harness/three-servers.ts)
 * share one room: created on hs1, joined by alias from hs2 and hs3, with matrix-js-sdk 37.5 users on each: messages,
 * typing, read receipts, display names, leave, kick and ban across servers, and an invite from hs2 to a user on hs3.
 * Each user's client runs its own sync loop (startClient), and what crosses the servers is checked in what those
 * loops hand the client: its live timeline, its room members' `typing` and names, its rooms' read receipts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Filter, ReceiptType, RoomEvent, type MatrixEvent, type Room } from "matrix-js-sdk";
import { startThreeServers, waitUntil, type ThreeServers, type ThreeUser } from "../harness/three-servers.js";

/**
 * Starts `user`'s own sync loop and waits for its first sync. Its filter lets a sync carry up to 100 timeline events
 * (the default is 10), so a burst of messages from three servers reaches the live timeline without a gap.
 */
async function startSyncing(user: ThreeUser): Promise<void> {
  const filter = new Filter(user.userId);
  filter.setTimelineLimit(100);
  await user.sdk.startClient({ initialSyncLimit: 20, filter });
  await waitUntil(`${user.userId}'s first sync`, async () => (user.sdk.isInitialSyncComplete() ? true : undefined));
}

/** The m.room.message events of the client's live timeline, oldest first. */
const liveMessages = (room: Room | null): MatrixEvent[] => room?.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message") ?? [];

describe("three Zion servers share a room", { timeout: 600_000 }, () => {
  let net: ThreeServers;
  let alice: ThreeUser, bob: ThreeUser, carol: ThreeUser;
  let roomId: string;
  const everyone = () => [alice, bob, carol];
  const syncing: ThreeUser[] = [];
  /** The room as `user`'s client holds it from its sync loop. */
  const roomAt = (user: ThreeUser): Room | null => user.sdk.getRoom(roomId);

  before(async () => {
    net = await startThreeServers();
    [alice, bob, carol] = await Promise.all([net.register("hs1", "alice"), net.register("hs2", "bob"), net.register("hs3", "carol")]);
    syncing.push(alice, bob, carol);
    await Promise.all(syncing.map(startSyncing));
  });
  after(async () => {
    for (const u of syncing) u.sdk.stopClient();
    await net?.stop();
  });

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
    // And each client's own sync loop has the room with the three of them (a client that sends before its sync has
    // the room puts its local echoes in a room the sync then rebuilds, out of order).
    for (const u of everyone()) {
      await waitUntil(`${u.userId}'s client holds the room with three joined members`, async () => {
        const joined = roomAt(u)?.getJoinedMembers().map((m) => m.userId).sort();
        return JSON.stringify(joined) === JSON.stringify([...ids].sort()) ? true : undefined;
      });
    }
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
      // What the viewer's own sync loop put in its live timeline; a message is counted once its remote echo came
      // (status null: the server's copy, not the sender's local echo still on its way).
      const bodies = await waitUntil(`${viewer.userId}'s client holds all 30 messages`, async () => {
        const b = liveMessages(roomAt(viewer)).filter((e) => e.status === null).map((e) => String(e.getContent()["body"]));
        return all.every((x) => b.includes(x)) ? b : undefined;
      }, 60_000);
      assert.equal(bodies.length, new Set(bodies).size, `no message twice on ${viewer.hs}`);
      for (const [sender, own] of Object.entries(sent)) {
        assert.deepEqual(bodies.filter((b) => own.includes(b)), own, `${viewer.hs} shows ${sender}'s messages in the order sent`);
      }
    }
  });

  it("a display-name change on hs2 reaches hs1 and hs3 as bob's new member event", async () => {
    await bob.sdk.setDisplayName("Bob the Builder");
    for (const viewer of [alice, carol]) {
      const member = await waitUntil(`${viewer.hs}'s client shows bob's new display name`, async () => {
        const m = roomAt(viewer)?.getMember(bob.userId);
        return m?.rawDisplayName === "Bob the Builder" ? m : undefined;
      });
      assert.equal(member.events.member?.getSender(), bob.userId, "the name comes from bob's own member event");
      const inTimeline = roomAt(viewer)!.getLiveTimeline().getEvents()
        .find((e) => e.getType() === "m.room.member" && e.getStateKey() === bob.userId && e.getContent()["displayname"] === "Bob the Builder");
      assert.ok(inTimeline, `bob's new member event is in ${viewer.hs}'s live timeline`);
      assert.equal(inTimeline.getContent()["membership"], "join");
    }
    const profile = await alice.sdk.getProfileInfo(bob.userId);
    assert.equal(profile.displayname, "Bob the Builder", "hs1 asks hs2 for bob's profile over federation");
  });

  it("alice typing on hs1 shows on bob's (hs2) and carol's (hs3) clients, and stops there when she stops", async () => {
    const typingAt = (viewer: ThreeUser) => roomAt(viewer)?.getMember(alice.userId)?.typing === true;
    assert.ok(!typingAt(bob) && !typingAt(carol), "nobody shows alice typing before she types");
    // Typing for up to 120 s, past every wait below: only her stop (not a time-out on either side) can clear it.
    await alice.sdk.sendTyping(roomId, true, 120_000);
    for (const viewer of [bob, carol]) await waitUntil(`${viewer.hs}'s client shows alice typing`, async () => (typingAt(viewer) ? true : undefined));
    await alice.sdk.sendTyping(roomId, false, 0);
    for (const viewer of [bob, carol]) await waitUntil(`${viewer.hs}'s client shows alice no longer typing`, async () => (!typingAt(viewer) ? true : undefined));
  });

  /** Sends a message as `from` and waits until each of `to`'s clients holds its remote echo. */
  const messageSeenBy = async (from: ThreeUser, body: string, to: readonly ThreeUser[]): Promise<string> => {
    const { event_id: id } = await from.sdk.sendMessage(roomId, { msgtype: "m.text", body } as never);
    for (const viewer of to) await waitUntil(`${viewer.hs}'s client holds "${body}"`, async () => (roomAt(viewer)?.findEventById(id) ? true : undefined));
    return id;
  };
  /** carol's receipt of `type` as a viewer's client holds it from the server (not one the SDK made up itself). */
  const carolsReceipt = (viewer: ThreeUser, type: ReceiptType) => roomAt(viewer)?.getReadReceiptForUserId(carol.userId, true, type)?.eventId;

  it("carol's read receipt on hs3 reaches alice's (hs1) and bob's (hs2) clients for the event she read", async () => {
    // bob's message: carol's client keeps receipts of its own for her own messages, and the check is for a real one.
    const id = await messageSeenBy(bob, "read me, carol", everyone());
    assert.ok(carolsReceipt(alice, ReceiptType.Read) !== id && carolsReceipt(bob, ReceiptType.Read) !== id);
    await carol.sdk.sendReadReceipt(roomAt(carol)!.findEventById(id)!, ReceiptType.Read);
    for (const viewer of [alice, bob]) {
      await waitUntil(`${viewer.hs}'s client holds carol's receipt`, async () => (carolsReceipt(viewer, ReceiptType.Read) === id ? true : undefined));
      const event = roomAt(viewer)!.findEventById(id)!;
      assert.ok(roomAt(viewer)!.getUsersReadUpTo(event).includes(carol.userId), `${viewer.hs} lists carol among those who read bob's message`);
    }
  });

  it("carol's private read receipt (m.read.private) never leaves hs3: alice's and bob's clients get her later public receipt, never the private one", async () => {
    const seen: Array<{ at: string; content: Record<string, unknown> }> = [];
    const record = (viewer: ThreeUser) => (e: MatrixEvent) => seen.push({ at: viewer.hs, content: e.getContent() });
    const listeners = [alice, bob].map((v) => ({ v, f: record(v) }));
    for (const { v, f } of listeners) v.sdk.on(RoomEvent.Receipt, f);
    try {
      const privately = await messageSeenBy(alice, "read privately", everyone());
      await carol.sdk.sendReadReceipt(roomAt(carol)!.findEventById(privately)!, ReceiptType.ReadPrivate);
      // hs3 took it: carol's own client gets it back from her server.
      await waitUntil("carol's client holds her private receipt", async () => (carolsReceipt(carol, ReceiptType.ReadPrivate) === privately ? true : undefined));
      const publicly = await messageSeenBy(alice, "read publicly", everyone());
      await carol.sdk.sendReadReceipt(roomAt(carol)!.findEventById(publicly)!, ReceiptType.Read);
      for (const viewer of [alice, bob]) {
        await waitUntil(`${viewer.hs}'s client holds carol's public receipt`, async () => (carolsReceipt(viewer, ReceiptType.Read) === publicly ? true : undefined));
        assert.equal(carolsReceipt(viewer, ReceiptType.ReadPrivate), undefined, `${viewer.hs}'s client holds no private receipt of carol's`);
      }
      // Nor did the private one arrive under another type: of carol's receipts either client got, none names the event
      // she read privately, and none is m.read.private.
      const carols = seen.flatMap((r) => Object.entries(r.content).flatMap(([eventId, byType]) =>
        Object.entries(byType as Record<string, Record<string, unknown>>).filter(([, users]) => carol.userId in users).map(([type]) => ({ at: r.at, eventId, type }))));
      assert.ok(carols.some((r) => r.eventId === publicly && r.type === ReceiptType.Read), "the clients' receipt events hold carol's public receipt");
      for (const r of carols) {
        assert.notEqual(r.eventId, privately, `${r.at} got a receipt of carol's for the event she read privately (${r.type})`);
        assert.notEqual(r.type, ReceiptType.ReadPrivate, `${r.at} got an m.read.private receipt of carol's`);
      }
    } finally {
      for (const { v, f } of listeners) v.sdk.off(RoomEvent.Receipt, f);
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
    const kick = await waitUntil("bob's client holds the kick", async () => roomAt(bob)?.getLiveTimeline().getEvents().find((e) =>
      e.getType() === "m.room.member" && e.getStateKey() === carol.userId && e.getSender() === alice.userId && e.getContent()["membership"] === "leave"));
    assert.equal(kick.getContent()["reason"], "out you go");
    const atCarol = await waitUntil("carol's client shows her kicked", async () => {
      const m = roomAt(carol)?.getMember(carol.userId);
      return m?.membership === "leave" && m.events.member?.getSender() === alice.userId ? m.events.member : undefined;
    });
    assert.equal(atCarol.getContent()["reason"], "out you go");
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
      await waitUntil(`${viewer.hs}'s client shows carol banned`, async () => (roomAt(viewer)?.getMember(carol.userId)?.membership === "ban" ? true : undefined));
    }
    const refused = await carol.sdk.joinRoom("#lobby:hs1.test").then(
      () => assert.fail("a banned user cannot join"),
      (e: { errcode?: string; httpStatus?: number }) => e,
    );
    assert.equal(refused.errcode, "M_FORBIDDEN", JSON.stringify(refused));
    // The other two keep talking.
    await bob.sdk.sendMessage(roomId, { msgtype: "m.text", body: "after the ban" } as never);
    await waitUntil("alice's client holds bob's message after the ban", async () => (liveMessages(roomAt(alice)).some((e) => e.getContent()["body"] === "after the ban") ? true : undefined));
  });

  it("bob on hs2 invites dave on hs3: dave's client gets the invite from bob, he accepts it, and all three servers list him joined", async () => {
    const dave = await net.register("hs3", "dave");
    // The room's invite level is 50: alice on hs1 raises bob to it, and hs2 must hold that before bob can invite.
    await alice.sdk.setPowerLevel(roomId, bob.userId, 50);
    await waitUntil("hs2 holds bob's power level 50", async () => {
      const pl = await bob.sdk.getStateEvent(roomId, "m.room.power_levels", "").catch(() => undefined);
      return (pl?.["users"] as Record<string, number> | undefined)?.[bob.userId] === 50 ? true : undefined;
    });
    syncing.push(dave);
    await startSyncing(dave);
    await bob.sdk.invite(roomId, dave.userId);
    const invited = await waitUntil("dave's client holds the invite", async () => {
      const m = dave.sdk.getRoom(roomId)?.getMember(dave.userId);
      return m?.membership === "invite" ? m : undefined;
    });
    assert.equal(invited.events.member?.getSender(), bob.userId, "the invite is bob's");
    assert.equal(dave.sdk.getRoom(roomId)?.name, "Lobby", "the invite carries the room's name in its stripped state");
    for (const viewer of [alice, bob]) {
      await waitUntil(`${viewer.hs} sees dave invited`, async () => {
        const m = await viewer.sdk.getStateEvent(roomId, "m.room.member", dave.userId).catch(() => undefined);
        return m?.["membership"] === "invite" ? true : undefined;
      });
    }
    await dave.sdk.joinRoom(roomId);
    for (const viewer of [alice, bob, dave]) {
      await waitUntil(`${viewer.hs} sees dave joined`, async () => ((await viewer.sdk.getJoinedRoomMembers(roomId)).joined[dave.userId] ? true : undefined));
      await waitUntil(`${viewer.hs}'s client shows dave joined`, async () => (viewer.sdk.getRoom(roomId)?.getMember(dave.userId)?.membership === "join" ? true : undefined));
    }
  });
});
