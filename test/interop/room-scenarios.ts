/**
 * The federated room scenarios of issue 15, each written once over two `Side`s (test/harness/room-sides.ts) and run by the peer
 * files in both directions: rooms-synapse.test.ts and rooms-dendrite.test.ts call the same functions with the host's
 * side first, so a scenario proven against Synapse is the very one run against Dendrite. Every function takes the
 * hosting server and its user (`host`, `owner`), then the joining server and its user (`guest`, `visitor`).
 */
import assert from "node:assert/strict";
import { ClientEvent, createClient, type MatrixClient } from "matrix-js-sdk";
import { quietLogger } from "../harness/sdk-logger.js";
import {
  allMessageBodies, createRoom, enc, ephemeralIn, eventually, inviteStateIn, join, joinedMembers, ok, readersIn, seeBodies, seeEvent, seeInSyncAfter,
  seeMembers, seeMembership, seeState, sendText, setState, stateContent, typersIn, type Body, type Side, type SideUser,
} from "../harness/room-sides.js";

/**
 * `host` creates a room with an alias, the other side's user joins by that alias; messages go both ways and arrive
 * in order on both sides; name, topic and power levels change on the host and show on the joiner; the host raises
 * the joiner to 100 and the joiner then changes topic, name and power levels, which the host accepts.
 */
export async function aliasJoinScenario(host: Side, owner: SideUser, guest: Side, visitor: SideUser, localpart: string): Promise<void> {
  const roomId = await createRoom(host, owner, { room_alias_name: localpart, name: `${localpart} v0` });
  const alias = `#${localpart}:${host.serverName}`;
  assert.equal(await join(guest, visitor, alias), roomId, "the alias resolved over federation to the room");
  await seeMembers(host, owner, roomId, [owner.userId, visitor.userId]);
  await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);

  const fromHost = [`${host.label}-1`, `${host.label}-2`, `${host.label}-3`];
  for (const b of fromHost) await sendText(host, owner, roomId, b);
  await seeBodies(guest, visitor, roomId, fromHost);
  const fromGuest = [`${guest.label}-1`, `${guest.label}-2`, `${guest.label}-3`];
  for (const b of fromGuest) await sendText(guest, visitor, roomId, b);
  await seeBodies(host, owner, roomId, [...fromHost, ...fromGuest]);
  await seeBodies(guest, visitor, roomId, [...fromHost, ...fromGuest]);

  await setState(host, owner, roomId, "m.room.name", { name: `${localpart} renamed by ${host.label}` });
  await setState(host, owner, roomId, "m.room.topic", { topic: `topic by ${host.label}` });
  await seeState(guest, visitor, roomId, "m.room.name", (c) => c["name"] === `${localpart} renamed by ${host.label}`);
  await seeState(guest, visitor, roomId, "m.room.topic", (c) => c["topic"] === `topic by ${host.label}`);

  // The guest may not set the topic yet (public_chat: state_default 50, the guest at 0): its own server refuses.
  const early = await guest.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic/`, visitor.token, { topic: "too early" });
  assert.equal(early.status, 403, `${guest.label} let a level-0 user set the topic: ${early.text}`);

  const pl = await ok(host, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, owner.token);
  const users = { ...(pl["users"] as Body), [visitor.userId]: 100 };
  await setState(host, owner, roomId, "m.room.power_levels", { ...pl, users });
  await seeState(guest, visitor, roomId, "m.room.power_levels", (c) => (c["users"] as Body)[visitor.userId] === 100);

  await setState(guest, visitor, roomId, "m.room.topic", { topic: `topic by ${guest.label}` });
  await setState(guest, visitor, roomId, "m.room.name", { name: `${localpart} renamed by ${guest.label}` });
  await seeState(host, owner, roomId, "m.room.topic", (c) => c["topic"] === `topic by ${guest.label}`);
  await seeState(host, owner, roomId, "m.room.name", (c) => c["name"] === `${localpart} renamed by ${guest.label}`);
  // And a power-level change from the guest's side: it lowers the state default to 40.
  const pl2 = await ok(guest, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, visitor.token);
  await setState(guest, visitor, roomId, "m.room.power_levels", { ...pl2, state_default: 40 });
  await seeState(host, owner, roomId, "m.room.power_levels", (c) => c["state_default"] === 40);
}

/** The join-and-message scenario in one room version: created on `host`, joined by room id naming the host. */
export async function joinAndMessage(host: Side, owner: SideUser, guest: Side, visitor: SideUser, version: string): Promise<void> {
  const roomId = await createRoom(host, owner, { room_version: version });
  const create = await ok(host, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.create/`, owner.token);
  assert.equal(create["room_version"], version);
  await join(guest, visitor, roomId, [host.serverName]);
  await seeMembership(host, owner, roomId, visitor.userId, "join");
  const atGuest = await ok(guest, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.create/`, visitor.token);
  assert.equal(atGuest["room_version"], version, `${guest.label} holds the room as version ${version}`);
  const a = await sendText(host, owner, roomId, `v${version} from ${host.label}`);
  await seeEvent(guest, visitor, roomId, a);
  const b = await sendText(guest, visitor, roomId, `v${version} from ${guest.label}`);
  await seeEvent(host, owner, roomId, b);
  await seeBodies(host, owner, roomId, [`v${version} from ${host.label}`, `v${version} from ${guest.label}`]);
  await seeBodies(guest, visitor, roomId, [`v${version} from ${host.label}`, `v${version} from ${guest.label}`]);
}

/** Waits until `roomId` is no longer among the visitor's joined rooms at `guest`. */
function seeRoomGone(guest: Side, visitor: SideUser, roomId: string, what: string): Promise<true> {
  return eventually(`${what} at ${guest.label}`, async () => {
    const r = await guest.call("GET", "/_matrix/client/v3/joined_rooms", visitor.token);
    return r.status === 200 && !(r.json["joined_rooms"] as string[]).includes(roomId) ? true : undefined;
  });
}

/** The guest leaves and re-joins, is kicked and re-joins, then is banned and refused. */
export async function leaveKickBan(host: Side, owner: SideUser, guest: Side, visitor: SideUser): Promise<void> {
  const roomId = await createRoom(host, owner, {});
  await join(guest, visitor, roomId, [host.serverName]);
  await seeMembership(host, owner, roomId, visitor.userId, "join");
  await ok(guest, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, visitor.token, {});
  await seeMembership(host, owner, roomId, visitor.userId, "leave");
  await join(guest, visitor, roomId, [host.serverName]);
  await seeMembership(host, owner, roomId, visitor.userId, "join");
  await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);

  await ok(host, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, owner.token, { user_id: visitor.userId, reason: "kick test" });
  await seeRoomGone(guest, visitor, roomId, "the kick");
  await join(guest, visitor, roomId, [host.serverName]);
  await seeMembership(host, owner, roomId, visitor.userId, "join");

  await ok(host, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, owner.token, { user_id: visitor.userId, reason: "ban test" });
  await seeRoomGone(guest, visitor, roomId, "the ban");
  const refused = await guest.call("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(host.serverName)}`, visitor.token, {});
  assert.equal(refused.status, 403, `${guest.label} joined a room it is banned from: ${refused.text}`);
  assert.equal((await stateContent(host, owner, roomId, "m.room.member", visitor.userId))?.["membership"], "ban");
  assert.deepEqual(await joinedMembers(host, owner, roomId), [owner.userId]);
}

/** A private room of `host` with the visitor invited; resolves once the invite is in the visitor's /sync at `guest`. */
async function invitedRoom(host: Side, owner: SideUser, guest: Side, visitor: SideUser, name: string): Promise<string> {
  const roomId = await createRoom(host, owner, { preset: "private_chat", name });
  // Answered once the guest's server has countersigned the invite (PUT /invite over federation).
  await ok(host, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, owner.token, { user_id: visitor.userId });
  const state = await eventually(`the invite in ${visitor.userId}'s /sync at ${guest.label}`, async () => {
    const r = await guest.call("GET", "/_matrix/client/v3/sync?timeout=0", visitor.token);
    return r.status === 200 ? inviteStateIn(r.json, roomId) : undefined;
  });
  // The stripped state names the room and holds the invite itself.
  assert.deepEqual(state.find((e) => e["type"] === "m.room.name")?.["content"], { name }, JSON.stringify(state));
  const own = state.find((e) => e["type"] === "m.room.member" && e["state_key"] === visitor.userId);
  assert.equal((own?.["content"] as Body | undefined)?.["membership"], "invite", JSON.stringify(state));
  return roomId;
}

/**
 * `host` invites the visitor, who sees the invite (with the room's name) in its /sync and accepts it with /join by
 * room id alone (its server joins through the inviting server); both servers list both members, and a message
 * crosses.
 */
export async function inviteAccepted(host: Side, owner: SideUser, guest: Side, visitor: SideUser): Promise<void> {
  const roomId = await invitedRoom(host, owner, guest, visitor, `invite from ${host.label}, accepted`);
  assert.equal(await join(guest, visitor, roomId), roomId);
  await seeMembers(host, owner, roomId, [owner.userId, visitor.userId]);
  await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);
  const e = await sendText(guest, visitor, roomId, `thanks from ${guest.label}`);
  await seeEvent(host, owner, roomId, e);
}

/** `host` invites the visitor, who rejects with /leave; the host's room shows the leave, and the guest drops the invite. */
export async function inviteRejected(host: Side, owner: SideUser, guest: Side, visitor: SideUser): Promise<void> {
  const roomId = await invitedRoom(host, owner, guest, visitor, `invite from ${host.label}, rejected`);
  await ok(guest, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, visitor.token, {});
  await seeMembership(host, owner, roomId, visitor.userId, "leave");
  const r = await ok(guest, "GET", "/_matrix/client/v3/sync?timeout=0", visitor.token);
  assert.equal(inviteStateIn(r, roomId), undefined, `${guest.label} still lists the rejected invite`);
  assert.deepEqual(await joinedMembers(host, owner, roomId), [owner.userId]);
}

/** Typing from each side shows in the other's /sync, and stopping shows too; `a` and `b` are both in `roomId`. */
export async function typingBothWays(a: Side, alice: SideUser, b: Side, bob: SideUser, roomId: string): Promise<void> {
  const typing = (s: Side, u: SideUser, on: boolean) =>
    ok(s, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(u.userId)}`, u.token, on ? { typing: true, timeout: 30_000 } : { typing: false });
  await seeInSyncAfter(b, bob, () => typing(a, alice, true), (r) => typersIn(r, roomId).includes(alice.userId), `${alice.userId} typing`);
  await seeInSyncAfter(a, alice, () => typing(b, bob, true), (r) => typersIn(r, roomId).includes(bob.userId), `${bob.userId} typing`);
  await seeInSyncAfter(a, alice, () => typing(b, bob, false),
    (r) => ephemeralIn(r, roomId, "m.typing").length > 0 && !typersIn(r, roomId).includes(bob.userId), `${bob.userId} stopped typing`);
}

/** A message from each side, and a read receipt for it from the other, seen in the sender's /sync. */
export async function receiptsBothWays(a: Side, alice: SideUser, b: Side, bob: SideUser, roomId: string): Promise<void> {
  for (const [from, sender, to, reader] of [[a, alice, b, bob], [b, bob, a, alice]] as const) {
    let eventId = "";
    await seeInSyncAfter(to, reader, async () => { eventId = await sendText(from, sender, roomId, `read me, from ${from.label}`); },
      (r) => JSON.stringify(r).includes(eventId), `${from.label}'s message at ${to.label}`);
    await seeInSyncAfter(from, sender, () => ok(to, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, reader.token, {}),
      (r) => readersIn(r, roomId, eventId).includes(reader.userId), `${reader.userId}'s receipt at ${from.label}`);
  }
}

/** Each side's presence (state and status message) shows in the other's /sync; `a` and `b` share a room. */
export async function presenceBothWays(a: Side, alice: SideUser, b: Side, bob: SideUser): Promise<void> {
  const presenceOf = (r: Body, userId: string) =>
    (((r["presence"] as Body | undefined)?.["events"] ?? []) as { sender: string; content: Body }[]).filter((e) => e.sender === userId).map((e) => e.content);
  for (const [from, user, to, viewer, presence] of [[a, alice, b, bob, "online"], [b, bob, a, alice, "unavailable"]] as const) {
    const status_msg = `from ${from.label}`;
    await seeInSyncAfter(to, viewer, () => ok(from, "PUT", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, user.token, { presence, status_msg }),
      (r) => presenceOf(r, user.userId).some((c) => c["status_msg"] === status_msg && c["presence"] === presence), `${user.userId}'s presence at ${to.label}`);
  }
}

/**
 * A room of `host` with the owner and three more local members, joined by the visitor by room id: both servers then
 * list all five members (the joiner's server learned them from send_join, whole or with members omitted and
 * completed later). Resolves to the room id.
 */
export async function crowdedJoin(host: Side, owner: SideUser, guest: Side, visitor: SideUser, localparts: readonly string[]): Promise<string> {
  const roomId = await createRoom(host, owner, {});
  const others = await Promise.all(localparts.map((u) => host.register(u)));
  for (const u of others) await join(host, u, roomId);
  await join(guest, visitor, roomId, [host.serverName]);
  const want = [owner.userId, visitor.userId, ...others.map((u) => u.userId)];
  await seeMembers(guest, visitor, roomId, want);
  await seeMembers(host, owner, roomId, want);
  return roomId;
}

/** A started matrix-js-sdk client (no crypto) of `user` at `side`, once its first /sync is done. */
async function sdkClient(side: Side, user: SideUser): Promise<MatrixClient> {
  const c = createClient({ baseUrl: side.clientUrl, accessToken: user.token, userId: user.userId, logger: quietLogger });
  const ready = new Promise<void>((resolve) => {
    const f = (state: string) => { if (state === "PREPARED" || state === "SYNCING") { c.off(ClientEvent.Sync, f); resolve(); } };
    c.on(ClientEvent.Sync, f);
  });
  await c.startClient({ initialSyncLimit: 20 });
  await ready;
  return c;
}

/** The m.room.message bodies of the room's live timeline in the client, oldest first. */
const timelineBodies = (c: MatrixClient, roomId: string): string[] =>
  (c.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []).filter((e) => e.getType() === "m.room.message").map((e) => String(e.getContent()["body"]));

/**
 * Two matrix-js-sdk clients, one per side, driven only through the SDK and its /sync loop: the owner's creates a
 * public room with an alias, the visitor's joins it by alias, and two messages from each arrive, in order, in the
 * other's live timeline; the joiner's client shows the room's name and both members as joined.
 */
export async function sdkChat(host: Side, owner: SideUser, guest: Side, visitor: SideUser, localpart: string): Promise<void> {
  const [hc, gc] = await Promise.all([sdkClient(host, owner), sdkClient(guest, visitor)]);
  try {
    const { room_id: roomId } = await hc.createRoom({ room_alias_name: localpart, name: `sdk chat on ${host.label}`, preset: "public_chat" as never });
    const joined = await gc.joinRoom(`#${localpart}:${host.serverName}`);
    assert.equal(joined.roomId, roomId);
    await eventually(`${visitor.userId} joined in ${host.label}'s client`, async () => hc.getRoom(roomId)?.getMember(visitor.userId)?.membership === "join" || undefined);
    const sent: string[] = [];
    for (const [c, who] of [[hc, host.label], [gc, guest.label], [hc, host.label], [gc, guest.label]] as const) {
      const body = `${who} via matrix-js-sdk ${sent.length + 1}`;
      await c.sendTextMessage(roomId, body);
      sent.push(body);
      // Each message reaches both timelines before the next is sent, so both orders are the sending order.
      for (const [reader, label] of [[hc, host.label], [gc, guest.label]] as const) {
        await eventually(`"${body}" in ${label}'s client`, async () => {
          const bodies = timelineBodies(reader, roomId);
          return JSON.stringify(bodies.slice(-sent.length)) === JSON.stringify(sent) ? true : undefined;
        });
      }
    }
    assert.deepEqual(timelineBodies(gc, roomId), sent);
    assert.deepEqual(timelineBodies(hc, roomId), sent);
    const room = gc.getRoom(roomId)!;
    assert.equal(room.name, `sdk chat on ${host.label}`);
    assert.deepEqual(room.getJoinedMembers().map((m) => m.userId).sort(), [owner.userId, visitor.userId].sort());
  } finally {
    hc.stopClient();
    gc.stopClient();
  }
}

/**
 * Backfill: `host`'s `owner` fills a room with `count` messages before `guest`'s `visitor` joins; the visitor then
 * pages back with /messages (pages of 50) and must get every message, in order, none twice: the guest's server
 * fetches that history from the host's /backfill.
 */
export async function pagesBackThroughHistory(host: Side, owner: SideUser, guest: Side, visitor: SideUser, count: number, version?: string): Promise<void> {
  const roomId = await createRoom(host, owner, version ? { room_version: version } : {});
  const sent = Array.from({ length: count }, (_, i) => `${host.label}-history-${i}`);
  for (const body of sent) await sendText(host, owner, roomId, body);
  await join(guest, visitor, roomId, [host.serverName]);
  await seeMembers(guest, visitor, roomId, [owner.userId, visitor.userId]);
  const { bodies, pages } = await allMessageBodies(guest, visitor, roomId, 50);
  assert.equal(new Set(bodies).size, bodies.length, `${guest.label} returned a message twice`);
  assert.deepEqual(bodies, sent, `${guest.label} paged back through ${bodies.length} of ${count} messages in ${pages} pages\n${guest.logTail()}`);
}
