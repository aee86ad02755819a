/**
 * Typing, read receipts and presence between Zion and the pinned Synapse (src/sync/edus), over real TLS with
 * certificates from the test CA, both named by IP literal on 127.0.23.x: a Synapse user joins a Zion user's room
 * over federation, then each side's typing, receipts and presence show in the other's /sync.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonObject } from "../../src/core/json/types.js";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { startSynapseAndZion } from "../harness/synapse-and-zion.js";
import type { RegisteredUser, SynapseHandle } from "../harness/synapse.js";

const SYNAPSE_HOST = "127.0.23.20";
const ZION_HOST = "127.0.23.21";
const enc = encodeURIComponent;
type Body = Record<string, unknown>;

describe("typing, receipts and presence between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zion: TestServer | undefined;
  let bob: RegisteredUser;
  let alice: { userId: string; token: string };
  let roomId: string;

  const zcall = () => clientCaller(() => zion!.clientUrl);
  const scall = async (method: string, path: string, body?: unknown): Promise<Body> => {
    const r = await synapse!.client(method, path, { token: bob.accessToken, ...(body !== undefined ? { body } : {}) });
    assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json as Body;
  };
  const zsync = async (since?: string): Promise<Body> => {
    const r = await zcall()("GET", `/_matrix/client/v3/sync${since ? `?since=${enc(since)}&timeout=3000` : ""}`, undefined, alice.token);
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  const ssync = (since?: string): Promise<Body> => scall("GET", `/_matrix/client/v3/sync${since ? `?since=${enc(since)}&timeout=3000` : ""}`);

  /** Starts the wait before `act`, so nothing is missed between the two. */
  async function seeAfter(sync: (since?: string) => Promise<Body>, act: () => Promise<unknown>, pred: (b: Body) => boolean, what: string): Promise<void> {
    const since = (await sync())["next_batch"] as string;
    await act();
    const deadline = Date.now() + 60_000;
    let from = since;
    const seen: Body[] = [];
    while (Date.now() < deadline) {
      const b = await sync(from);
      if (pred(b)) return;
      seen.push(b);
      from = b["next_batch"] as string;
    }
    assert.fail(`${what}: not seen in 60 s: ${JSON.stringify(seen).slice(-2000)}`);
  }
  const ephemeral = (b: Body, type: string): JsonObject[] => {
    const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { ephemeral?: { events?: { type: string; content: JsonObject }[] } }>;
    return (joined[roomId]?.ephemeral?.events ?? []).filter((e) => e.type === type).map((e) => e.content);
  };
  const typers = (b: Body) => ephemeral(b, "m.typing").flatMap((c) => c["user_ids"] as string[]);
  const readers = (b: Body, eventId: string) => ephemeral(b, "m.receipt").flatMap((c) => Object.keys(((c[eventId] as Body | undefined)?.["m.read"] ?? {}) as Body));
  const presence = (b: Body, userId: string) => (((b["presence"] as Body | undefined)?.["events"] ?? []) as { sender: string; content: JsonObject }[]).filter((e) => e.sender === userId).map((e) => e.content);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-edus-synapse-"));
    let zionName: string;
    ({ synapse, zion, zionName } = await startSynapseAndZion({ dir, synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.23.0/24", synapseConfig: { presence: { enabled: true } } }));
    bob = await synapse.registerUser({ username: "bob" });
    const reg = await zcall()("POST", "/_matrix/client/v3/register", { username: "alice", password: "pw-123456", auth: { type: "m.login.dummy" } });
    assert.equal(reg.status, 200, reg.body);
    alice = { userId: reg.json()["user_id"] as string, token: reg.json()["access_token"] as string };
    const created = await zcall()("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "with synapse" }, alice.token);
    assert.equal(created.status, 200, created.body);
    roomId = created.json()["room_id"] as string;
    await scall("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(zionName)}`, {});
  });

  after(async () => {
    await Promise.all([synapse?.stop(), zion?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("Zion's typing shows in Synapse's /sync, and Synapse's in Zion's", async () => {
    await seeAfter(ssync, () => zcall()("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { typing: true, timeout: 30_000 }, alice.token),
      (b) => typers(b).includes(alice.userId), "alice typing at Synapse");
    await seeAfter(zsync, () => scall("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, { typing: true, timeout: 30_000 }),
      (b) => typers(b).includes(bob.userId), "bob typing at Zion");
    await seeAfter(zsync, () => scall("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, { typing: false }),
      (b) => ephemeral(b, "m.typing").length > 0 && !typers(b).includes(bob.userId), "bob stopped typing at Zion");
  });

  it("read receipts cross both ways", async () => {
    let eventId = "";
    await seeAfter(ssync, async () => {
      const sent = await zcall()("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/r1`, { msgtype: "m.text", body: "read me" }, alice.token);
      assert.equal(sent.status, 200, sent.body);
      eventId = sent.json()["event_id"] as string;
    }, (b) => JSON.stringify(b).includes(eventId), "alice's message at Synapse");
    await seeAfter(zsync, () => scall("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {}),
      (b) => readers(b, eventId).includes(bob.userId), "bob's receipt at Zion");
    let bobEvent = "";
    await seeAfter(zsync, async () => {
      bobEvent = (await scall("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/s1`, { msgtype: "m.text", body: "from synapse" }))["event_id"] as string;
    }, (b) => JSON.stringify(b).includes(bobEvent), "bob's message at Zion");
    await seeAfter(ssync, () => zcall()("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(bobEvent)}`, {}, alice.token),
      (b) => readers(b, bobEvent).includes(alice.userId), "alice's receipt at Synapse");
  });

  it("presence crosses both ways", async () => {
    await seeAfter(ssync, () => zcall()("PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { presence: "online", status_msg: "from zion" }, alice.token),
      (b) => presence(b, alice.userId).some((c) => c["status_msg"] === "from zion" && c["presence"] === "online"), "alice's presence at Synapse");
    await seeAfter(zsync, () => scall("PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { presence: "unavailable", status_msg: "from synapse" }),
      (b) => presence(b, bob.userId).some((c) => c["status_msg"] === "from synapse" && c["presence"] === "unavailable"), "bob's presence at Zion");
  });
});
