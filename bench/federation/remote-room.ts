/**
 * A simulated remote homeserver for the federation benchmark: a real HTTPS server (test-CA certificate, found by the
 * target through the test dnsmasq) with its own ed25519 key, serving its key at /_matrix/key/v2/server and hosting
 * one room version 11 room that the target's local user joins over make_join / send_join. Every PDU it will push is
 * built and signed (libsodium, via src/core/crypto) by `prepareMessages` before the clock starts.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu, parsePdu, signEvent, type Pdu } from "../../src/core/events/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { serveHttps, type SeenRequest, type TestCa, type TestHttpsServer } from "../../test/harness/test-ca.js";

const V11 = roomVersion("11");

export class RemoteRoomServer {
  readonly key: SigningKey = signingKeyFromSeed("b1", randomBytes(32));
  readonly roomId: string;
  readonly owner: string;
  /** The room's events in order (create, owner's join, power levels, join rules, history visibility, then joins). */
  readonly events: Pdu[] = [];
  /** The target's join once send_join accepted it. */
  joinedMember: Pdu | undefined;
  /** Transactions the target sent us (accepted and counted, not checked). */
  receivedTxns = 0;
  private server: TestHttpsServer | null = null;

  constructor(readonly name: string, readonly ip: string, private readonly ca: TestCa) {
    this.roomId = `!bench${randomBytes(6).toString("hex")}:${name}`;
    this.owner = `@owner:${name}`;
    const t0 = Date.now();
    const add = (type: string, stateKey: string, content: JsonObject) => {
      const prev = this.events.at(-1);
      const auth = this.authFor(type, this.owner);
      this.events.push(buildPdu(V11, {
        type, stateKey, content, sender: this.owner, roomId: this.roomId,
        prevEvents: prev ? [prev.eventId] : [], authEvents: auth, depth: this.events.length + 1, originServerTs: t0 + this.events.length,
      }, this.signer));
    };
    add("m.room.create", "", { room_version: "11" });
    add("m.room.member", this.owner, { membership: "join" });
    add("m.room.power_levels", "", { users: { [this.owner]: 100 }, users_default: 0, events_default: 0, state_default: 50 });
    add("m.room.join_rules", "", { join_rule: "public" });
    add("m.room.history_visibility", "", { history_visibility: "shared" });
  }

  get signer() {
    return { serverName: this.name, key: this.key };
  }

  /** create, power levels, the sender's membership and (for joins) join rules: the auth events of v11. */
  private authFor(type: string, sender: string): string[] {
    const find = (t: string, sk: string) => this.events.find((e) => e.type === t && e.stateKey === sk)?.eventId;
    const ids = [find("m.room.create", ""), find("m.room.power_levels", ""), find("m.room.member", sender)];
    if (type === "m.room.member") ids.push(find("m.room.join_rules", ""));
    return ids.filter((x) => x !== undefined).map(String);
  }

  async start(): Promise<void> {
    const leaf = await this.ca.issue({ dns: [this.name] });
    this.server = await serveHttps(this.ip, 8448, leaf, (req, res) => this.handle(req, res));
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  /** `n` messages by the owner, each citing the one before, the first citing the target's join. Signed now. */
  prepareMessages(n: number): Pdu[] {
    const join = this.joinedMember;
    if (!join) throw new Error("the target has not joined yet");
    const auth = this.authFor("m.room.message", this.owner);
    const out: Pdu[] = [];
    let prev = join;
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const p = buildPdu(V11, {
        type: "m.room.message", sender: this.owner, roomId: this.roomId, content: { msgtype: "m.text", body: `bench ${i}` },
        prevEvents: [prev.eventId], authEvents: auth, depth: prev.depth + 1, originServerTs: t0 + i,
      }, this.signer);
      out.push(p);
      prev = p;
    }
    return out;
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private handle(req: SeenRequest, res: ServerResponse): void {
    const path = req.url.split("?")[0]!;
    if (req.method === "GET" && path === "/_matrix/key/v2/server") {
      const keys = { server_name: this.name, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [this.key.keyId]: { key: publicKeyBase64(this.key) } }, old_verify_keys: {} };
      return this.reply(res, 200, signJson(keys, this.name, this.key));
    }
    let m = /^\/_matrix\/federation\/v1\/make_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const userId = decodeURIComponent(m[2]!);
      const prev = this.events.at(-1)!;
      const auth = this.authFor("m.room.member", userId);
      const origin = userId.slice(userId.indexOf(":") + 1);
      return this.reply(res, 200, {
        room_version: "11",
        event: { type: "m.room.member", state_key: userId, sender: userId, room_id: this.roomId, origin, content: { membership: "join" }, prev_events: [prev.eventId], auth_events: auth, depth: prev.depth + 1, origin_server_ts: Date.now() },
      });
    }
    m = /^\/_matrix\/federation\/v2\/send_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (req.method === "PUT" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const state = this.events.map((e) => e.raw);
      const signed = signEvent(JSON.parse(req.body) as JsonObject, V11, this.signer);
      const pdu = parsePdu(signed, V11);
      this.events.push(pdu);
      this.joinedMember = pdu;
      return this.reply(res, 200, { origin: this.name, state, auth_chain: state, event: signed, members_omitted: false });
    }
    if (req.method === "PUT" && path.startsWith("/_matrix/federation/v1/send/")) {
      this.receivedTxns++;
      const body = JSON.parse(req.body) as JsonObject;
      const pdus = (body["pdus"] ?? []) as JsonObject[];
      return this.reply(res, 200, { pdus: Object.fromEntries(pdus.map((p) => [parsePdu(p, V11).eventId, {}])) });
    }
    return this.reply(res, 404, { errcode: "M_UNRECOGNIZED", error: `not served by the benchmark's remote: ${req.method} ${path}` });
  }
}
