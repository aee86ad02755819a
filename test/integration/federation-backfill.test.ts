/**
 * /messages backfills over federation between two in-process Zions over real TLS (test CA, real dnsmasq, addresses
 * in 127.0.31.0/24 on port 8448): hs1's room holds 120 messages, hs2's bob joins and pages back through all of them;
 * backfilled events never reach bob's incremental /sync; with hs1 stopped the page answers with what hs2 holds.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptHasher } from "../../src/api/index.js";
import type { Clock } from "../../src/core/clock.js";
import type { ServerName } from "../../src/core/ids/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { startFederatedZion } from "../harness/federated-zion.js";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import { createTestCa } from "../harness/test-ca.js";

const clock: Clock = { now: () => Date.now(), sleep: async (ms) => new Promise((r) => setTimeout(r, ms)) };
const cheap = scryptHasher({ ln: 10 });
const generous = { per_second: 1000, burst_count: 1000 };
const BASE = 10 + 3 * Math.floor(Math.random() * 80);
const [IP1, IP2, IP_DNS] = [`127.0.31.${BASE}`, `127.0.31.${BASE + 1}`, `127.0.31.${BASE + 2}`];
const HS1 = "hs1.backfill.test" as ServerName;
const HS2 = "hs2.backfill.test" as ServerName;

describe("/messages backfills over federation (two Zions, real TLS and DNS)", { timeout: 300_000 }, () => {
  let dir: string;
  let dns: Dnsmasq;
  const hs: TestServer[] = [];
  const tokens: string[] = [];
  const call = (i: number) => clientCaller(() => hs[i]!.clientUrl);
  const enc = encodeURIComponent;
  let roomId = "";
  let since = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-backfill-"));
    const ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { [HS1]: [IP1], [HS2]: [IP2] } }, { address: IP_DNS });
    for (const [name, ip, user] of [[HS1, IP1, "alice"], [HS2, IP2, "bob"]] as const) {
      const server = await startFederatedZion(ca, dns, name, ip, {
        ip_range_whitelist: ["127.0.31.0/24"],
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_joins: { local: generous, remote: generous },
      }, { mode: "in-process", startOptions: { clock, passwordHasher: cheap } });
      hs.push(server);
      const r = await call(hs.length - 1)("POST", "/_matrix/client/v3/register", { username: user, password: "pw-123456", auth: { type: "m.login.dummy" } });
      assert.equal(r.status, 200, r.body);
      tokens.push(r.json()["access_token"] as string);
    }
    const c = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, tokens[0]);
    assert.equal(c.status, 200, c.body);
    roomId = c.json()["room_id"] as string;
    for (let i = 0; i < 120; i++) {
      const s = await call(0)("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${i}`, { msgtype: "m.text", body: `m${i}` }, tokens[0]);
      assert.equal(s.status, 200, s.body);
    }
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(roomId)}?server_name=${HS1}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    const s = await call(1)("GET", "/_matrix/client/v3/sync?timeout=0", undefined, tokens[1]);
    assert.equal(s.status, 200, s.body);
    since = s.json()["next_batch"] as string;
  });
  after(async () => {
    await Promise.all(hs.map((s) => s.stop()));
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("bob pages back with /messages and gets all 120 messages in order, none twice", async () => {
    const bodies: string[] = [];
    let from: string | undefined;
    for (let round = 0; round < 40; round++) {
      const r = await call(1)("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=25${from ? `&from=${enc(from)}` : ""}`, undefined, tokens[1]);
      assert.equal(r.status, 200, r.body);
      const chunk = r.json()["chunk"] as { type: string; content: { body?: string } }[];
      for (const e of chunk) if (e.type === "m.room.message") bodies.push(e.content.body!);
      const end = r.json()["end"] as string | undefined;
      if (!end) break;
      from = end;
    }
    const expected = Array.from({ length: 120 }, (_, i) => `m${119 - i}`);
    assert.deepEqual(bodies, expected);
  });

  it("a backfilled event never appears in bob's incremental /sync", async () => {
    const s = await call(1)("GET", `/_matrix/client/v3/sync?timeout=0&since=${enc(since)}`, undefined, tokens[1]);
    assert.equal(s.status, 200, s.body);
    const room = (s.json()["rooms"] as { join?: Record<string, { timeline?: { events: { type: string }[] } }> } | undefined)?.join?.[roomId];
    const msgs = (room?.timeline?.events ?? []).filter((e) => e.type === "m.room.message");
    assert.equal(msgs.length, 0, JSON.stringify(room));
  });

  it("a page of 1,000 over 350 unbackfilled messages stops at its backfill rounds, keeps `end`, and the next page gets the rest", async () => {
    const c = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, tokens[0]);
    assert.equal(c.status, 200, c.body);
    const room3 = c.json()["room_id"] as string;
    for (let i = 0; i < 350; i++) {
      const s = await call(0)("PUT", `/_matrix/client/v3/rooms/${enc(room3)}/send/m.room.message/w${i}`, { msgtype: "m.text", body: `w${i}` }, tokens[0]);
      assert.equal(s.status, 200, s.body);
    }
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(room3)}?server_name=${HS1}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    const bodies: string[] = [];
    const chunks: number[] = [];
    let from: string | undefined;
    for (let round = 0; round < 10; round++) {
      const r = await call(1)("GET", `/_matrix/client/v3/rooms/${enc(room3)}/messages?dir=b&limit=1000${from ? `&from=${enc(from)}` : ""}`, undefined, tokens[1]);
      assert.equal(r.status, 200, r.body);
      const chunk = r.json()["chunk"] as { type: string; content: { body?: string } }[];
      chunks.push(chunk.length);
      for (const e of chunk) if (e.type === "m.room.message") bodies.push(e.content.body!);
      const end = r.json()["end"] as string | undefined;
      if (!end) break;
      from = end;
    }
    assert.ok(chunks.length >= 2 && chunks[0]! < 1000, `pages of ${chunks.join(", ")}`);
    assert.deepEqual(bodies, Array.from({ length: 350 }, (_, i) => `w${349 - i}`));
  });

  it("with the room's server unreachable, the page answers with what hs2 holds", async () => {
    const c = await call(0)("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, tokens[0]);
    const room2 = c.json()["room_id"] as string;
    for (let i = 0; i < 5; i++) await call(0)("PUT", `/_matrix/client/v3/rooms/${enc(room2)}/send/m.room.message/u${i}`, { msgtype: "m.text", body: `u${i}` }, tokens[0]);
    const j = await call(1)("POST", `/_matrix/client/v3/join/${enc(room2)}?server_name=${HS1}`, {}, tokens[1]);
    assert.equal(j.status, 200, j.body);
    await hs[0]!.stop();
    const r = await call(1)("GET", `/_matrix/client/v3/rooms/${enc(room2)}/messages?dir=b&limit=50`, undefined, tokens[1]);
    assert.equal(r.status, 200, r.body);
    const chunk = r.json()["chunk"] as { type: string; state_key?: string }[];
    assert.ok(chunk.length >= 1 && chunk.every((e) => e.type !== "m.room.message"), JSON.stringify(chunk));
  });
});
