/**
 * Typing, read receipts and presence between Zion and the pinned Synapse (src/sync/edus), over real TLS with
 * certificates from the test CA, both named by IP literal on 127.0.23.x: a Synapse user joins a Zion user's room
 * over federation, then each side's typing, receipts and presence show in the other's /sync: the shared scenarios
 * of room-scenarios.ts, which rooms-dendrite.test.ts runs against Dendrite.
 * A second Zion (127.0.23.22) with send_presence_to_federation: false shares the room: the same steps that bring
 * the first Zion's presence to Synapse bring none of its.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TestServer } from "../harness/server.js";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { startZionBesidePeer } from "../harness/zion-beside-peer.js";
import { presenceBothWays, receiptsBothWays, typingBothWays } from "./room-scenarios.js";
import { createRoom, enc, join, ok, seeEvent, seeMembership, sendText, zionSide, type Body, type Side, type SideUser } from "../harness/room-sides.js";

const SYNAPSE_HOST = "127.0.23.20";
const ZION_HOST = "127.0.23.21";
/** A second Zion in the same room, with send_presence_to_federation: false. */
const QUIET_HOST = "127.0.23.22";

describe("typing, receipts and presence between Zion and Synapse", { timeout: 300_000 }, () => {
  const t = synapseAndZionSuite({ prefix: "zion-edus-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.23.0/24", synapseConfig: { presence: { enabled: true } } });
  let roomId: string;
  let quietServer: TestServer | undefined;
  let quiet: Side;
  let carol: SideUser; // on the quiet Zion

  before(async () => {
    roomId = await createRoom(t.zion, t.alice, { name: "with synapse" });
    await join(t.syn, t.bob, roomId, [t.zionName]);
    const q = await startZionBesidePeer(t.pair.ca, { zionHost: QUIET_HOST, allowRange: "127.0.23.0/24", zionConfig: { send_presence_to_federation: false } });
    quietServer = q.zion;
    quiet = zionSide(q.zion, q.zionName);
    carol = await quiet.register("carol");
    await join(quiet, carol, roomId, [t.zionName]);
    await seeMembership(t.syn, t.bob, roomId, carol.userId, "join");
  });

  after(async () => {
    await quietServer?.stop();
  });

  it("Zion's typing shows in Synapse's /sync, and Synapse's in Zion's", async () => {
    await typingBothWays(t.zion, t.alice, t.syn, t.bob, roomId);
  });

  it("read receipts cross both ways", async () => {
    await receiptsBothWays(t.zion, t.alice, t.syn, t.bob, roomId);
  });

  it("presence crosses both ways", async () => {
    await presenceBothWays(t.zion, t.alice, t.syn, t.bob);
  });

  it("with send_presence_to_federation: false no presence reaches Synapse, while the same steps from a Zion with it on do", async () => {
    // The same steps from each Zion: a presence change with a status message, then two messages, each sent once
    // Synapse shows the one before. Zion sends a destination one transaction at a time, and Synapse handles a
    // transaction's EDUs before it answers it, so once the second message is there, a presence EDU sent with or
    // before the first has been handled and shows in Synapse's GET /presence.
    const presenceAtSynapseAfterSteps = async (side: Side, user: SideUser, status_msg: string): Promise<Body> => {
      await ok(side, "PUT", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, user.token, { presence: "online", status_msg });
      await seeEvent(t.syn, t.bob, roomId, await sendText(side, user, roomId, `${status_msg}: first`));
      await seeEvent(t.syn, t.bob, roomId, await sendText(side, user, roomId, `${status_msg}: second`));
      return ok(t.syn, "GET", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, t.bob.token);
    };
    const loud = await presenceAtSynapseAfterSteps(t.zion, t.alice, "sent to federation");
    assert.equal(loud["status_msg"], "sent to federation", `the Zion with presence to federation on: ${JSON.stringify(loud)}`);
    assert.equal(loud["presence"], "online");
    const muted = await presenceAtSynapseAfterSteps(quiet, carol, "kept at home");
    assert.notEqual(muted["status_msg"], "kept at home", `the Zion with send_presence_to_federation: false: ${JSON.stringify(muted)}`);
    assert.notEqual(muted["presence"], "online", `Synapse never heard carol is online: ${JSON.stringify(muted)}`);
    // Carol's own server still has it: only federation is off.
    const home = await ok(quiet, "GET", `/_matrix/client/v3/presence/${enc(carol.userId)}/status`, carol.token);
    assert.equal(home["status_msg"], "kept at home");
  });
});
