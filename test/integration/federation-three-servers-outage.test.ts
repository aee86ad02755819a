/**
 * Outages across three Zion processes (test/harness/three-servers.ts): a server stopped while the others keep
 * talking, and a server killed with SIGKILL in the middle of a burst. Nothing the client API accepted is lost, and
 * nothing arrives twice.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Method } from "matrix-js-sdk";
import { messageBodies, startThreeServers, waitUntil, type ThreeServers, type ThreeUser } from "../harness/three-servers.js";

describe("three Zion servers through outages", { timeout: 600_000 }, () => {
  let net: ThreeServers;
  let alice: ThreeUser, bob: ThreeUser, carol: ThreeUser;

  before(async () => {
    net = await startThreeServers();
    [alice, bob, carol] = await Promise.all([net.register("hs1", "alice"), net.register("hs2", "bob"), net.register("hs3", "carol")]);
  });
  after(() => net?.stop());

  /** A room on hs1 that bob (hs2) and carol (hs3) joined by alias, with all three members seen on all three. */
  async function sharedRoom(alias: string): Promise<string> {
    const { room_id: roomId } = await alice.sdk.createRoom({ room_alias_name: alias, preset: "public_chat" as never });
    await bob.sdk.joinRoom(`#${alias}:hs1.test`);
    await carol.sdk.joinRoom(`#${alias}:hs1.test`);
    for (const u of [alice, bob, carol]) {
      await waitUntil(`${u.hs} sees three members`, async () => (Object.keys((await u.sdk.getJoinedRoomMembers(roomId)).joined).length === 3 ? true : undefined));
    }
    return roomId;
  }

  /** PUT /send with our own txn id (not the SDK's queue, which would retry for us and hide what was accepted). */
  const send = (u: ThreeUser, roomId: string, body: string, txnId: string) =>
    u.sdk.http.authedRequest<{ event_id: string }>(Method.Put, `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`, undefined, { msgtype: "m.text", body });

  it("hs2 stopped while hs1 and hs3 keep talking (250 messages: hs1 catches up sending only the newest), then started: hs2's users see every message sent meanwhile, in order, none twice", async () => {
    const roomId = await sharedRoom("outage");
    await send(bob, roomId, "before the outage", "b0");
    await waitUntil("hs1 and hs3 see bob's first message", async () =>
      (await messageBodies(alice, roomId)).includes("before the outage") && (await messageBodies(carol, roomId)).includes("before the outage") ? true : undefined);

    assert.equal(await net.hs.hs2.stop(), 0, "hs2 stops cleanly");
    const sent: Record<string, string[]> = { alice: [], carol: [] };
    // alice 220 and carol 30 messages at the same time, each in order, while hs2 is down: more than hs1's catch-up
    // threshold (200 queued), so hs1 sends hs2 only the newest and hs2 must fetch the rest with /get_missing_events.
    const counts = { alice: 220, carol: 30 };
    await Promise.all(([["alice", alice], ["carol", carol]] as const).map(async ([who, u]) => {
      for (let i = 0; i < counts[who]; i++) {
        const body = `${who} during the outage ${i}`;
        await send(u, roomId, body, `outage-${i}`);
        sent[who]!.push(body);
      }
    }));
    // hs1 and hs3 see each other's messages meanwhile.
    const meanwhile = [...sent["alice"]!, ...sent["carol"]!];
    await waitUntil("hs1 and hs3 see all 250 while hs2 is down", async () => {
      const [a, c] = [await messageBodies(alice, roomId), await messageBodies(carol, roomId)];
      return meanwhile.every((b) => a.includes(b) && c.includes(b)) ? true : undefined;
    });

    await net.hs.hs2.start();
    await waitUntil("hs1 catches up with hs2, dropping its backlog", async () => (net.hs.hs1.current.output.stdout.includes('"destination":"hs2.test"') && /catching up: sending only the newest/.test(net.hs.hs1.current.output.stdout) ? true : undefined), 30_000);
    let last: string[] = [];
    const bodies = await waitUntil("bob sees every message sent while hs2 was down", async () => {
      last = await messageBodies(bob, roomId);
      return meanwhile.every((b) => last.includes(b)) ? last : undefined;
    }, 90_000, () => `bob has ${last.filter((b) => meanwhile.includes(b)).length} of ${meanwhile.length}, missing ${meanwhile.filter((b) => !last.includes(b)).slice(0, 20).join(", ")}`);
    assert.equal(bodies.length, new Set(bodies).size, "no message twice on hs2");
    for (const own of Object.values(sent)) assert.deepEqual(bodies.filter((b) => own.includes(b)), own, "each sender's messages in the order sent");
    assert.equal(bodies[0], "before the outage", "the outage's messages come after what hs2 had");

    // hs2 is a full member again: its new message reaches both others.
    await send(bob, roomId, "back again", "b1");
    await waitUntil("hs1 and hs3 see bob's message after the restart", async () =>
      (await messageBodies(alice, roomId)).includes("back again") && (await messageBodies(carol, roomId)).includes("back again") ? true : undefined);
  });

  it("hs1 killed with SIGKILL during a burst of 500 messages: after restart every message the client API accepted reaches hs2 and hs3 exactly once", async () => {
    const roomId = await sharedRoom("burst");
    const accepted: string[] = [];
    const failed: string[] = [];
    let next = 0;
    let killing: Promise<void> | undefined;
    // 8 senders share the 500 messages; once 200 are accepted hs1 is killed with no warning.
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= 500) return;
        const body = `burst ${i}`;
        try {
          await send(alice, roomId, body, `burst-${i}`);
          accepted.push(body);
          if (accepted.length === 200) killing = net.hs.hs1.kill();
        } catch {
          failed.push(body);
        }
      }
    }));
    await killing;
    assert.ok(accepted.length >= 200 && failed.length > 0, `the kill came mid-burst (${accepted.length} accepted, ${failed.length} failed)`);
    assert.equal(accepted.length + failed.length, 500);

    await net.hs.hs1.start();
    for (const viewer of [bob, carol]) {
      let last: string[] = [];
      const bodies = await waitUntil(`${viewer.hs} receives every accepted message`, async () => {
        last = (await messageBodies(viewer, roomId)).filter((b) => b.startsWith("burst "));
        return accepted.every((b) => last.includes(b)) ? last : undefined;
      }, 90_000, () => `${viewer.hs} has ${accepted.filter((b) => last.includes(b)).length} of ${accepted.length}`);
      assert.equal(bodies.length, new Set(bodies).size, `no message twice on ${viewer.hs}`);
      // Anything beyond the accepted ones was persisted by hs1 just before the kill, its answer lost with the process.
      for (const b of bodies) assert.ok(accepted.includes(b) || failed.includes(b));
    }
    // hs1 itself kept exactly what it accepted, once each.
    const own = (await messageBodies(alice, roomId)).filter((b) => b.startsWith("burst "));
    assert.equal(own.length, new Set(own).size);
    for (const b of accepted) assert.ok(own.includes(b), `hs1 kept ${b}`);
  });
});
