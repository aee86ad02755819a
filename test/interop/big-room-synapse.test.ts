/**
 * A big Synapse room joined from Zion (issue 15), over real TLS with certificates from the test CA, both named by IP
 * literal on 127.0.42.x: a public Synapse room of 500 members (499 made and joined through Synapse's admin API,
 * concurrently, to keep the setup short), which a Zion user joins. The Zion client can send at once after its join
 * (Synapse's users see the message), and Zion's /joined_members lists all 501 members once it holds the whole
 * member list, which its background completion fetches: Zion joins partially (send_join with omit_members=true, then
 * /state_ids at the join), as Synapse's access log shows.
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv2send_joinroomideventid
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RegisteredUser } from "../harness/synapse.js";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { createRoom, enc, eventually, join, joinedMembers, seeEvent, sendText } from "../harness/room-sides.js";

const SYNAPSE_HOST = "127.0.42.20";
const ZION_HOST = "127.0.42.21";
/** Members of the Synapse room before Zion's user joins (its creator included). */
const MEMBERS = 500;
/** Admin requests in flight at once while the room fills. */
const CONCURRENCY = 8;

describe("a 500-member Synapse room joined from Zion", { timeout: 600_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-big-room-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.42.0/24" });
  let roomId: string;
  let admin: RegisteredUser;

  /** Runs `work` over 0..n-1, `CONCURRENCY` at a time. */
  async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }));
  }

  before(async () => {
    const started = Date.now();
    admin = await t.synapse.registerUser({ username: "room-filler", admin: true });
    // Bob creates the room; the admin (its second member) and 498 more users join it through the admin API.
    roomId = await createRoom(t.syn, t.bob, { name: "five hundred" });
    const adminCall = async (method: string, path: string, body: unknown) => {
      const r = await t.synapse.client(method, path, { token: admin.accessToken, body });
      assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.text}`);
    };
    await adminCall("POST", `/_synapse/admin/v1/join/${enc(roomId)}`, { user_id: admin.userId });
    const others = MEMBERS - 2;
    await pool(others, async (i) => {
      const userId = `@member-${i}:${t.synapse.serverName}`;
      await adminCall("PUT", `/_synapse/admin/v2/users/${enc(userId)}`, { displayname: `Member ${i}` });
      await adminCall("POST", `/_synapse/admin/v1/join/${enc(roomId)}`, { user_id: userId });
    });
    const atSynapse = await joinedMembers(t.syn, t.bob, roomId);
    assert.equal(atSynapse.length, MEMBERS, `the Synapse room has ${MEMBERS} members`);
    console.log(`# ${MEMBERS} members in the Synapse room in ${Date.now() - started} ms`);
  });

  it("a Zion user joins it partially, can send at once (Synapse's users see it), and Zion lists all 501 members once its background completion ends", async () => {
    const joined = Date.now();
    assert.equal(await join(t.zion, t.alice, roomId, [t.synapse.serverName]), roomId);
    const joinMs = Date.now() - joined;
    // At once after the join, before any wait for the member list.
    const eventId = await sendText(t.zion, t.alice, roomId, "hello, five hundred");
    const seen = await seeEvent(t.syn, t.bob, roomId, eventId);
    assert.equal((seen["content"] as Record<string, unknown>)["body"], "hello, five hundred");
    assert.equal(seen["sender"], t.alice.userId);
    const adminSees = await t.synapse.client("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, { token: admin.accessToken });
    assert.equal(adminSees.status, 200, adminSees.text);
    // The whole member list at Zion (the full state, or its background completion once it ends).
    const want = MEMBERS + 1;
    let last = 0;
    const members = await eventually(`${want} members at Zion`, async () => {
      const m = await joinedMembers(t.zion, t.alice, roomId);
      last = m.length;
      return m.length >= want ? m : undefined;
    }, 180_000).catch((e: unknown) => { throw new Error(`${String(e)}; Zion lists ${last}`); });
    assert.equal(members.length, want);
    assert.ok(members.includes(t.alice.userId) && members.includes(t.bob.userId) && members.includes(admin.userId));
    for (let i = 0; i < MEMBERS - 2; i++) assert.ok(members.includes(`@member-${i}:${t.synapse.serverName}`), `member-${i} at Zion`);
    // Zion joined partially (federation.partial_joins is on by default): its send_join asked omit_members=true, and
    // its background completion asked Synapse for the state at the join. Synapse's access log names both requests.
    const opaque = roomId.slice(1, roomId.indexOf(":"));
    const inbound = t.synapse.log().split("\n").filter((l) => l.includes(opaque));
    assert.ok(inbound.some((l) => l.includes("/send_join/") && l.includes("omit_members=true")), `Zion's send_join did not ask omit_members=true:\n${inbound.filter((l) => l.includes("send_join")).join("\n")}`);
    assert.ok(inbound.some((l) => l.includes("/state_ids/")), `Zion never asked Synapse for /state_ids of the room:\n${inbound.slice(-20).join("\n")}`);
    console.log(`# Zion's join took ${joinMs} ms; the member list was complete ${Date.now() - joined} ms after the join began`);
  });
});
