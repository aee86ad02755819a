/**
 * `presence.enabled: false` over federation: three in-process Zions named by IP literal on 127.0.46.x:8448 (real
 * TLS, test-CA certificate with IP SANs, no DNS): hs1 (alice) and hs3 (carol) with presence enabled, hs2 (bob)
 * with it disabled, all three in alice's room. What alice sets on hs1 reaches carol on hs3 (the path works); what bob
 * sets on hs2 never leaves hs2, and hs2 keeps none of the presence hs1 sends it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import type { RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import { startIpLiteralZions } from "../harness/federated-zion.js";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const IPS = ["127.0.46.1", "127.0.46.2", "127.0.46.3"];
const PASSWORD = "correct horse 1";
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- sync bodies are read field by field
const enc = encodeURIComponent;

interface Account { server: TestServer; userId: UserId; token: string }

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("presence.enabled: false on one of three federating servers", { timeout: 180_000 }, () => {
  let dir: string;
  const servers: TestServer[] = [];
  let names: ServerName[] = [];
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let roomId: RoomId;

  const call = (a: Account, method: string, path: string, body?: unknown): Promise<J> =>
    clientCaller(() => a.server.clientUrl)(method, path, body, a.token).then((r) => {
      assert.equal(r.status, 200, r.body);
      return r.json() as J;
    });
  const sync = (a: Account, since?: string): Promise<J> => call(a, "GET", `/_matrix/client/v3/sync?set_presence=offline&timeout=1000${since ? `&since=${enc(since)}` : ""}`);
  const register = async (server: TestServer, username: string): Promise<Account> => {
    const r = await clientCaller(() => server.clientUrl)("POST", "/_matrix/client/v3/register", { username, password: PASSWORD, auth: { type: "m.login.dummy" } });
    assert.equal(r.status, 200, r.body);
    return { server, userId: r.json()["user_id"] as UserId, token: String(r.json()["access_token"]) };
  };
  const say = (a: Account, body: string) => call(a, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(body)}`, { msgtype: "m.text", body });
  const bodies = (j: J): string[] => (j["rooms"]?.["join"]?.[roomId]?.["timeline"]?.["events"] ?? []).map((e: J) => e["content"]?.["body"]).filter((b: unknown) => typeof b === "string");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-presence-off-"));
    const ca = await createTestCa(dir);
    const started = await startIpLiteralZions(ca, IPS, "127.0.46.0/24", { passwordHasher: scryptHasher({ ln: 10 }) }, [{}, { presence: { enabled: false } }, {}]);
    servers.push(...started.servers);
    names = started.names;
    [alice, bob, carol] = [await register(servers[0]!, "alice"), await register(servers[1]!, "bob"), await register(servers[2]!, "carol")];
    roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }))["room_id"] as RoomId;
    for (const a of [bob, carol]) await call(a, "POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(names[0]!)}`, {});
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("sends nothing of bob's presence from hs2 and keeps none of alice's there, while alice's reaches carol on hs3", async () => {
    const carolBase = String((await sync(carol))["next_batch"]);
    const bobBase = String((await sync(bob))["next_batch"]);
    assert.deepEqual(await call(bob, "PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { presence: "unavailable", status_msg: "away" }), {});
    await say(bob, "after bob's presence");
    await call(alice, "PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { presence: "unavailable", status_msg: "lunch" });
    await say(alice, "after alice's presence");

    // Carol hears both messages over federation; whatever hs2 queued before bob's message went with it or earlier.
    let seen: string[] = [];
    let presence: J[] = [];
    let since = carolBase;
    await until("carol to see both messages", async () => {
      const j = await sync(carol, since);
      since = String(j["next_batch"]);
      seen = [...seen, ...bodies(j)];
      presence = [...presence, ...(j["presence"]?.["events"] ?? [])];
      return seen.includes("after bob's presence") && seen.includes("after alice's presence") ? true : undefined;
    });
    const hs3 = servers[2]!.homeserver!.storage.presence;
    const alicesAtHs3 = await until("alice's presence at hs3", async () => (await hs3.get(alice.userId)) ?? undefined);
    assert.equal(alicesAtHs3.state, "unavailable");
    assert.equal(alicesAtHs3.statusMsg, "lunch");
    assert.equal(await hs3.get(bob.userId), null, "hs2 sent no m.presence for bob");
    const j = await sync(carol, since);
    presence = [...presence, ...(j["presence"]?.["events"] ?? [])];
    assert.ok(presence.some((e) => e["sender"] === alice.userId && e["content"]["presence"] === "unavailable"), JSON.stringify(presence));
    assert.deepEqual(presence.filter((e) => e["sender"] === bob.userId), []);
    assert.deepEqual(await call(carol, "GET", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`), { presence: "offline" });
    assert.equal((await call(carol, "GET", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`))["presence"], "unavailable");

    // hs2 drops the m.presence hs1 sent it (inbound too), so bob sees none, and GET there answers offline.
    const bobSaw = await until("bob to see alice's message", async () => {
      const b = await sync(bob, bobBase);
      return bodies(b).includes("after alice's presence") ? b : undefined;
    });
    assert.deepEqual(bobSaw["presence"], { events: [] });
    assert.equal(await servers[1]!.homeserver!.storage.presence.get(alice.userId), null);
    assert.equal(await servers[1]!.homeserver!.storage.presence.get(bob.userId), null);
    assert.deepEqual(await call(bob, "GET", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`), { presence: "offline" });
  });
});
