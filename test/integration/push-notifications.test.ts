/**
 * Push notifications on a real Zion over loopback, on SQLite and PostgreSQL, to real HTTP push gateways (small
 * servers in this test on 127.0.32.1 and 127.0.32.2 that record what they are sent): a message from another user
 * reaches the pusher's gateway as the Push Gateway API's notification, the user's own message does not, a mention
 * highlights; the unread counts of /sync are the stored actions after the read receipt; a gateway rejecting the
 * pushkey deletes the pusher; a failing gateway gets the same notification again; a gateway the IP policy
 * blacklists is never contacted.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../src/core/clock.js";
import type { UserId } from "../../src/core/ids/index.js";
import { backendDatabases } from "../harness/postgres.js";
import type { TestServer } from "../harness/server.js";
import { okJson as ok, startRoomsServer, type RoomsClient as Client } from "../harness/rooms-server.js";

let now = 1_767_000_000_000;
const clock: Clock = { now: () => now++, sleep: async () => {} };
const databases = backendDatabases("zion_push_notifications");
after(() => databases.stop());

const V3 = "/_matrix/client/v3";
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test JSON

/** A push gateway: records each notify request; answers per pushkey as `answer` says (default 200, none rejected). */
class Gateway {
  readonly received: Json[] = [];
  answer: (pushkey: string, n: number) => { status: number; body: Json } = () => ({ status: 200, body: { rejected: [] } });
  private server: Server | undefined;
  private counts = new Map<string, number>();
  url = "";

  async start(host: string): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
        this.received.push({ method: req.method, path: req.url, contentType: req.headers["content-type"], body });
        const pushkey = String(body["notification"]?.["devices"]?.[0]?.["pushkey"]);
        const n = (this.counts.get(pushkey) ?? 0) + 1;
        this.counts.set(pushkey, n);
        const a = this.answer(pushkey, n);
        res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}/_matrix/push/v1/notify`;
  }

  for(pushkey: string): Json[] {
    return this.received.filter((r) => r["body"]["notification"]["devices"][0]["pushkey"] === pushkey).map((r) => r["body"]["notification"]);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Waits (without a deadline of its own: the test's timeout bounds it) until `check` answers something truthy. */
async function until<T>(check: () => T | false | Promise<T | false>): Promise<T> {
  for (;;) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of ["sqlite", "postgres"] as const)
describe(`push notifications (${backend})`, { timeout: 120_000 }, () => {
  let zion: TestServer;
  let call: Awaited<ReturnType<typeof startRoomsServer>>["call"];
  let alice: Client, bob: Client, carol: Client;
  let roomId: string;
  const gateway = new Gateway();
  const blocked = new Gateway();
  let txn = 0;

  before(async () => {
    await gateway.start("127.0.32.1");
    await blocked.start("127.0.32.2");
    // Synapse's default blacklist covers 127.0.0.0/8; only the first gateway's address is let through.
    const s = await startRoomsServer(await databases.config(backend), clock, { ip_range_whitelist: ["127.0.32.1/32"] });
    zion = s.zion;
    call = s.call;
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((u) => s.register(u))) as [Client, Client, Client];
    roomId = ok(await call("POST", `${V3}/createRoom`, { preset: "public_chat", name: "Push room" }, alice.token))["room_id"] as string;
    for (const c of [bob, carol]) ok(await call("POST", `${V3}/join/${encodeURIComponent(roomId)}`, {}, c.token));
  });
  after(async () => {
    await zion?.stop();
    await gateway.stop();
    await blocked.stop();
  });

  const send = async (c: Client, body: string, extra: Json = {}) =>
    ok(await call("PUT", `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${txn++}`, { msgtype: "m.text", body, ...extra }, c.token))["event_id"] as string;
  const setPusher = async (c: Client, pushkey: string, url: string, data: Json = {}) =>
    ok(await call("POST", `${V3}/pushers/set`, { kind: "http", app_id: "org.example.app", pushkey, app_display_name: "Example", device_display_name: "Phone", lang: "en", data: { url, brand: "zion-test", ...data } }, c.token));
  const unread = async (c: Client) => (ok(await call("GET", `${V3}/sync`, undefined, c.token))["rooms"] as Json)["join"][roomId]["unread_notifications"];
  const storedPusher = async (userId: UserId, pushkey: string) => (await zion.homeserver!.storage.pushers.deliveries("http", [userId])).find((p) => p.pushkey === pushkey);

  it("POSTs the notification for another user's message to the gateway, none for the user's own, a highlight for a mention; /sync counts them until the read receipt", async () => {
    await setPusher(bob, "bob-key", gateway.url);
    await send(bob, "my own message");
    const hello = await send(alice, "hello there");
    const [first] = await until(() => gateway.for("bob-key").length >= 1 && gateway.for("bob-key"));
    assert.equal(gateway.received[0]!["method"], "POST");
    assert.equal(gateway.received[0]!["path"], "/_matrix/push/v1/notify");
    assert.match(String(gateway.received[0]!["contentType"]), /^application\/json/);
    // Delivered in order, so bob's own message, had it notified, would have come first.
    assert.equal(first!["event_id"], hello, "bob's own message is not pushed to bob");
    assert.deepEqual(first!["devices"][0]["tweaks"], {}, JSON.stringify(first));
    assert.deepEqual(
      { ...first, devices: undefined },
      {
        event_id: hello, room_id: roomId, type: "m.room.message", sender: alice.userId, sender_display_name: "alice", room_name: "Push room",
        content: { msgtype: "m.text", body: "hello there" }, counts: { unread: 1 }, prio: "low", devices: undefined,
      },
    );
    const device = first!["devices"][0];
    assert.deepEqual({ ...device, pushkey_ts: undefined }, { app_id: "org.example.app", pushkey: "bob-key", pushkey_ts: undefined, data: { brand: "zion-test" }, tweaks: {} });
    assert.ok(Number.isSafeInteger(device["pushkey_ts"]) && device["pushkey_ts"] > 1_700_000_000 && device["pushkey_ts"] < 1_900_000_000, "pushkey_ts in seconds");
    assert.deepEqual(await unread(bob), { notification_count: 1, highlight_count: 0 });

    const mention = await send(alice, "look here", { "m.mentions": { user_ids: [bob.userId] } });
    const second = (await until(() => gateway.for("bob-key").length >= 2 && gateway.for("bob-key")))[1]!;
    assert.equal(second["event_id"], mention);
    assert.equal(second["prio"], "high");
    assert.equal(second["devices"][0]["tweaks"]["highlight"], true);
    assert.deepEqual(second["counts"], { unread: 2 });
    assert.deepEqual(await unread(bob), { notification_count: 2, highlight_count: 1 });
    assert.deepEqual(await unread(alice), { notification_count: 1, highlight_count: 0 }, "bob's message counts for alice, her own do not");

    ok(await call("POST", `${V3}/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(mention)}`, {}, bob.token));
    assert.deepEqual(await unread(bob), { notification_count: 0, highlight_count: 0 }, "reset by the read receipt");
    const later = await send(alice, "one more");
    const third = (await until(() => gateway.for("bob-key").length >= 3 && gateway.for("bob-key")))[2]!;
    assert.equal(third["event_id"], later);
    assert.deepEqual(third["counts"], { unread: 1 });
    assert.deepEqual(await unread(bob), { notification_count: 1, highlight_count: 0 });
    assert.equal((await storedPusher(bob.userId, "bob-key"))!.failingSince, null);
    ok(await call("POST", `${V3}/pushers/set`, { kind: null, app_id: "org.example.app", pushkey: "bob-key" }, bob.token));
  });

  it("deletes the pusher whose pushkey the gateway answers as rejected", async () => {
    gateway.answer = (pushkey) => ({ status: 200, body: { rejected: pushkey === "carol-gone" ? ["carol-gone"] : [] } });
    await setPusher(carol, "carol-gone", gateway.url);
    assert.equal((ok(await call("GET", `${V3}/pushers`, undefined, carol.token))["pushers"] as Json[]).length, 1);
    const ev = await send(alice, "for carol");
    await until(() => gateway.for("carol-gone").some((n) => n["event_id"] === ev));
    await until(async () => (ok(await call("GET", `${V3}/pushers`, undefined, carol.token))["pushers"] as Json[]).length === 0);
    await until(() => !zion.homeserver!.pushSender.busy());
    await send(alice, "after the rejection");
    await until(() => !zion.homeserver!.pushSender.busy());
    assert.equal(gateway.for("carol-gone").length, 1, "nothing more is sent for a deleted pusher");
  });

  it("sends the same notification again after the gateway failed (event_id_only format), and never contacts a blacklisted gateway", async () => {
    gateway.answer = (pushkey, n) => (pushkey === "carol-flaky" && n === 1 ? { status: 503, body: { errcode: "M_UNKNOWN" } } : { status: 200, body: { rejected: [] } });
    await setPusher(carol, "carol-flaky", gateway.url, { format: "event_id_only" });
    await setPusher(carol, "carol-blocked", blocked.url);
    const ev = await send(alice, "again please");
    const got = await until(() => gateway.for("carol-flaky").length >= 2 && gateway.for("carol-flaky"));
    assert.deepEqual(got.map((n) => n["event_id"]), [ev, ev], "the failed notification is sent again");
    assert.deepEqual(Object.keys(got[1]!).sort(), ["counts", "devices", "event_id", "prio", "room_id"]);
    assert.equal(got[1]!["room_id"], roomId);
    assert.deepEqual(got[1]!["devices"][0]["data"], { brand: "zion-test", format: "event_id_only" });
    await until(async () => (await storedPusher(carol.userId, "carol-flaky"))?.failingSince === null && (await storedPusher(carol.userId, "carol-flaky"))!.lastStreamOrdering > 0);
    // The blacklisted gateway: its pusher fails (the policy refuses the address) and it never hears a request.
    await until(async () => (await storedPusher(carol.userId, "carol-blocked"))?.failingSince != null);
    assert.deepEqual(blocked.received, []);
    ok(await call("POST", `${V3}/pushers/set`, { kind: null, app_id: "org.example.app", pushkey: "carol-blocked" }, carol.token));
  });
});
