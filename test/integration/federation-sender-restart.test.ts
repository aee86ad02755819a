/**
 * A Zion process killed with SIGKILL during a burst of messages sent through the client API, then started again:
 * every message the client API accepted reaches the remote exactly once, and the transaction that was in flight at
 * the kill is resent after the restart under the same id with the same body.
 *
 * Real parts: the `zion start` process, its SQLite file, dnsmasq, a fake remote over HTTPS with the test CA that
 * verifies X-Matrix and, like a real server, applies a transaction id once (test/harness/fake-remote.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSigningKeyFile } from "../../src/app/signing-key.js";
import { signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { RoomId, ServerName, UserId } from "../../src/core/ids/index.js";
import { parseCreateRoomRequest } from "../../src/core/rooms/index.js";
import { RoomService } from "../../src/rooms/index.js";
import { openSqliteStorage } from "../../src/storage/sqlite/index.js";
import { startDnsmasq, type Dnsmasq } from "../harness/dnsmasq.js";
import { FakeRemote, bodyOf, eventIdOf } from "../harness/fake-remote.js";
import { httpCall } from "../harness/http-get.js";
import { parseLogLine, runZion, type ZionProcess } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";

const OURS = "zion.test" as ServerName;
const ALICE = "@alice:zion.test" as UserId;
const REMOTE = "restart.sender.test" as ServerName;
const IP = `127.0.9.${250 + Math.floor(Math.random() * 5)}`;
const TOKEN = `tok_${randomBytes(8).toString("hex")}`;

const until = async (what: string, cond: () => boolean, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("federation sender across a SIGKILL", { timeout: 180_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let dns: Dnsmasq;
  let remote: FakeRemote;
  let configPath: string;
  let roomId: RoomId;
  let proc: ZionProcess | undefined;
  const key = signingKeyFromSeed("a1", randomBytes(32));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-sender-kill-"));
    ca = await createTestCa(dir);
    dns = await startDnsmasq({ a: { [REMOTE]: [IP] } });
    remote = new FakeRemote(REMOTE, IP, ca, { serverName: OURS, key });
    await remote.start();
    const dbPath = join(dir, "homeserver.db");
    writeSigningKeyFile(join(dir, "signing.key"), [key]);
    configPath = join(dir, "homeserver.yaml");
    await writeFile(configPath, JSON.stringify({
      server_name: OURS,
      public_baseurl: "http://127.0.0.1/",
      listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] }],
      signing_key_path: join(dir, "signing.key"),
      database: { name: "sqlite3", args: { database: dbPath } },
      media_store_path: join(dir, "media"),
      log_level: "info",
      trusted_key_servers: [],
      dns_servers: [dns.server],
      ip_range_whitelist: ["127.0.9.0/24"],
      federation_custom_ca_list: [ca.caCertPath],
      federation: { destination_min_retry_interval: 200, destination_retry_multiplier: 2, destination_max_retry_interval: 1000 },
      rc_message: { per_second: 10_000, burst_count: 10_000 },
    }));
    // The room, with a member on the remote, written before the first start (Zion cannot join remote rooms yet).
    const storage = await openSqliteStorage({ path: dbPath });
    try {
      await storage.users.createUser({ userId: ALICE, passwordHash: null, createdTs: Date.now() }, { userId: ALICE, deviceId: "D1", accessToken: TOKEN, nowTs: Date.now() });
      const rooms = new RoomService({ serverName: OURS, signer: { serverName: OURS, key }, clock: { now: () => Date.now(), sleep: async () => {} }, storage });
      roomId = await rooms.createRoom(ALICE, parseCreateRoomRequest({ preset: "public_chat", room_version: "11" }, ALICE, { defaultRoomVersion: "11" }));
      await rooms.join(roomId, `@bob:${REMOTE}` as UserId);
    } finally {
      await storage.close();
    }
  });
  after(async () => {
    await proc?.kill();
    await remote?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<string> {
    proc = runZion(["start", "-c", configPath], { cwd: dir });
    let port = 0;
    await proc.waitForLine((line) => {
      const msg = parseLogLine(line);
      if (msg?.["msg"] === "listening") port = Number(msg["port"]);
      return msg?.["msg"] === "ready";
    }, 20_000);
    return `http://127.0.0.1:${port}`;
  }

  it("delivers every accepted message exactly once after a SIGKILL mid-burst, resending the interrupted transaction as it was", async () => {
    const bodiesByTxn = new Map<string, string[]>();
    // Like a real server: a transaction id is applied once; a repeat is acknowledged without applying it again.
    // Answers are held 100 ms so that a transaction is in flight when the process dies.
    remote.answer = (t, res) => {
      const seen = bodiesByTxn.get(t.txnId) ?? [];
      seen.push(t.body);
      bodiesByTxn.set(t.txnId, seen);
      if (seen.length > 1) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ pdus: {} }));
      } else setTimeout(() => remote.ok(t, res), 100);
    };
    let base = await start();
    const accepted: string[] = [];
    let killed = false;
    const sendOne = async (i: number): Promise<void> => {
      const r = await httpCall(`${base}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${i}`, {
        method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ msgtype: "m.text", body: `m${i}` }),
      }).catch(() => null);
      if (r?.status === 200) accepted.push(r.json()["event_id"] as string);
      else if (!killed) assert.fail(`message ${i} refused before the kill: ${r?.status} ${r?.body}`);
    };
    // A burst from 4 clients at once; the kill lands while a transaction is held at the remote.
    let i = 0;
    const clients = Array.from({ length: 4 }, async () => {
      while (!killed && i < 2000) await sendOne(i++);
    });
    await until("80 messages accepted with a transaction in flight", () => accepted.length >= 80 && remote.inFlight > 0);
    killed = true;
    proc!.child.kill("SIGKILL");
    await proc!.exited();
    await Promise.all(clients);

    base = await start();
    await until("every accepted message reached the remote", () => {
      const got = new Set(remote.pdus().map(eventIdOf));
      return accepted.every((id) => got.has(id as never));
    });
    await new Promise((r) => setTimeout(r, 500));
    // Exactly once: no event in two transactions the remote applied.
    const ids = remote.pdus().map(eventIdOf);
    assert.equal(new Set(ids).size, ids.length, "an event was sent in two different transactions");
    // In order: messages arrive in the order the room's queue wrote them (their depth).
    const depths = remote.pdus().map((p) => p["depth"] as number);
    assert.deepEqual([...depths].sort((a, b) => a - b), depths);
    // The transaction in flight at the kill was sent again after the restart, under its id, byte for byte.
    const repeated = [...bodiesByTxn.entries()].filter(([, bodies]) => bodies.length > 1);
    assert.ok(repeated.length >= 1, "the interrupted transaction was resent");
    for (const [id, bodies] of repeated) assert.ok(bodies.every((b) => b === bodies[0]), `transaction ${id} changed between attempts`);
    const messages = remote.pdus().filter((p) => p["type"] === "m.room.message").map(bodyOf);
    assert.ok(messages.length >= accepted.length, `${messages.length} messages delivered, ${accepted.length} accepted`);
    await proc!.stop();
    proc = undefined;
  });
});
