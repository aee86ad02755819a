/**
 * Transaction ids are scoped per device (https://spec.matrix.org/v1.16/client-server-api/#transaction-identifiers):
 * one user logged in twice sends with the same txn id from both devices, on a real Zion over loopback (SQLite).
 * PUT /rooms/{id}/send, PUT /rooms/{id}/redact and PUT /sendToDevice each make one event (or message) per device,
 * and a device repeating its own txn id gets its first answer back with nothing stored again. A device deleted and
 * created again under the same id (a login naming it) starts with no transactions.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { scryptHasher } from "../../src/api/index.js";
import type { RoomId, UserId } from "../../src/core/ids/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { clientCalls } from "../harness/client-calls.js";

const PASSWORD = "correct horse 1";
const generous = { per_second: 1000, burst_count: 1000 };
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
const enc = encodeURIComponent;

describe("transaction ids scoped per device", () => {
  let zion: TestServer;
  before(async () => {
    zion = await startTestServer({
      config: {
        enable_registration: true, enable_registration_without_verification: true,
        rc_registration: generous, rc_message: generous, rc_login: { address: generous, account: generous, failed_attempts: generous },
      },
      startOptions: { passwordHasher: scryptHasher({ ln: 10 }) },
    });
  });
  after(() => zion?.stop());

  const { call, ok } = clientCalls(() => zion.clientUrl!);
  interface Session { userId: UserId; deviceId: string; token: string }
  let n = 0;
  const session = (j: J): Session => ({ userId: j["user_id"] as UserId, deviceId: String(j["device_id"]), token: String(j["access_token"]) });
  /** A user with two devices (the registration's and a second login). */
  const twoDevices = async (): Promise<[Session, Session]> => {
    const name = `t${++n}`;
    const first = session(await ok(call("POST", "/_matrix/client/v3/register", { username: name, password: PASSWORD, auth: { type: "m.login.dummy" } })));
    const second = session(await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password: PASSWORD })));
    assert.notEqual(first.deviceId, second.deviceId);
    return [first, second];
  };
  const newRoom = async (s: Session): Promise<RoomId> => (await ok(call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" }, s.token)))["room_id"] as RoomId;
  const send = async (s: Session, roomId: RoomId, txnId: string, body: string): Promise<string> =>
    String((await ok(call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txnId}`, { msgtype: "m.text", body }, s.token)))["event_id"]);
  const redact = async (s: Session, roomId: RoomId, eventId: string, txnId: string): Promise<string> =>
    String((await ok(call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${txnId}`, { reason: "r" }, s.token)))["event_id"]);
  const stored = async (roomId: RoomId) => (await zion.homeserver!.storage.events.getRoomEventsBetween(roomId, 0, Number.MAX_SAFE_INTEGER, 10_000)).map((e) => e.pdu);

  it("PUT /send with one txn id from two devices makes two events; each device repeating it gets its own event id back", async () => {
    const [one, two] = await twoDevices();
    const roomId = await newRoom(one);
    const fromOne = await send(one, roomId, "same-txn", "same body");
    const fromTwo = await send(two, roomId, "same-txn", "same body");
    assert.notEqual(fromTwo, fromOne, "another device's txn id is another transaction");
    assert.equal(await send(one, roomId, "same-txn", "same body"), fromOne);
    assert.equal(await send(two, roomId, "same-txn", "same body"), fromTwo);
    const messages = (await stored(roomId)).filter((p) => p.type === "m.room.message");
    assert.deepEqual(messages.map((p) => p.eventId).sort(), [fromOne, fromTwo].sort(), "one stored event per device");
    // Each device is told the txn id of its own event only.
    const unsignedTxn = async (s: Session, eventId: string) =>
      ((await ok(call("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, undefined, s.token)))["unsigned"] ?? {})["transaction_id"];
    assert.equal(await unsignedTxn(one, fromOne), "same-txn");
    assert.equal(await unsignedTxn(one, fromTwo), undefined);
    assert.equal(await unsignedTxn(two, fromTwo), "same-txn");
    // The same device and txn id in another room is another request path: another event.
    const otherRoom = await newRoom(one);
    assert.notEqual(await send(one, otherRoom, "same-txn", "same body"), fromOne);
  });

  it("PUT /redact with one txn id from two devices redacts both events; a device repeating it gets its redaction back", async () => {
    const [one, two] = await twoDevices();
    const roomId = await newRoom(one);
    const m1 = await send(one, roomId, "m1", "first");
    const m2 = await send(two, roomId, "m2", "second");
    const r1 = await redact(one, roomId, m1, "same-redact");
    const r2 = await redact(two, roomId, m2, "same-redact");
    assert.notEqual(r2, r1);
    assert.equal(await redact(one, roomId, m1, "same-redact"), r1);
    assert.equal(await redact(two, roomId, m2, "same-redact"), r2);
    const redactions = (await stored(roomId)).filter((p) => p.type === "m.room.redaction");
    assert.deepEqual(redactions.map((p) => p.eventId).sort(), [r1, r2].sort());
    for (const m of [m1, m2]) {
      const ev = await ok(call("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(m)}`, undefined, one.token));
      assert.deepEqual(ev["content"], {}, `${m} is redacted`);
    }
  });

  it("PUT /sendToDevice with one txn id from two devices queues two messages; a repeat from either queues nothing", async () => {
    const [one, two] = await twoDevices();
    const [bob] = await twoDevices();
    const body = (from: string) => ({ messages: { [bob.userId]: { [bob.deviceId]: { from } } } });
    const inbox = async () => (await zion.homeserver!.storage.toDevice.inbox(bob.userId, bob.deviceId, 0, 100)).messages;
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/same-td", body("one"), one.token));
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/same-td", body("two"), two.token));
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/same-td", body("one"), one.token));
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/same-td", body("two"), two.token));
    assert.deepEqual(await inbox(), [
      { type: "m.test", sender: one.userId, content: { from: "one" } },
      { type: "m.test", sender: one.userId, content: { from: "two" } },
    ]);
  });

  it("a device deleted and logged in again under the same device_id starts afresh: its old txn ids are new requests", async () => {
    const name = `t${++n}`;
    const login = async () => session(await ok(call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password: PASSWORD, device_id: "PHONE" })));
    const admin = session(await ok(call("POST", "/_matrix/client/v3/register", { username: name, password: PASSWORD, auth: { type: "m.login.dummy" } })));
    const [bob] = await twoDevices();
    const roomId = await newRoom(admin);
    const phone = await login();
    assert.equal(phone.deviceId, "PHONE");
    const first = await send(phone, roomId, "txn-1", "first life");
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/td-1", { messages: { [bob.userId]: { [bob.deviceId]: { life: 1 } } } }, phone.token));
    await ok(call("POST", "/_matrix/client/v3/delete_devices", { devices: ["PHONE"], auth: { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password: PASSWORD } }, admin.token));
    const again = await login();
    assert.equal(again.deviceId, "PHONE");
    const second = await send(again, roomId, "txn-1", "second life");
    assert.notEqual(second, first, "the deleted device's transaction is not this one's");
    await ok(call("PUT", "/_matrix/client/v3/sendToDevice/m.test/td-1", { messages: { [bob.userId]: { [bob.deviceId]: { life: 2 } } } }, again.token));
    const bodies = (await stored(roomId)).filter((p) => p.type === "m.room.message").map((p) => (p.content as J)["body"]);
    assert.deepEqual(bodies, ["first life", "second life"]);
    const inbox = (await zion.homeserver!.storage.toDevice.inbox(bob.userId, bob.deviceId, 0, 100)).messages;
    assert.deepEqual(inbox.map((m) => (m.content as J)["life"]), [1, 2], "the second life's to-device message was sent, not taken for a repeat");
  });
});
