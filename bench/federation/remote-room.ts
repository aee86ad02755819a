/**
 * The simulated remote homeservers of the federation benchmark. Each is a real HTTPS server on its own 127.0.x.y
 * address, named by that IP literal (test-CA certificate with the address as its IP SAN, federation on 8448), with
 * its own ed25519 key served at /_matrix/key/v2/server, accepting every PUT /send (without checking X-Matrix: the
 * harness must stay light) and recording the PDUs it is sent.
 *
 * `RemoteRoom` is one room version 11 room hosted by the first server: its owner created it, and one user of every
 * other server joined it, each join signed by its own server, so a target that joins over make_join / send_join
 * shares the room with all of them and must send its events to every one. Every PDU the harness pushes is built and
 * signed (libsodium, via src/core/crypto) by `prepareMessages` before the clock starts.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu, parsePdu, signEvent, type Pdu } from "../../src/core/events/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { serveHttps, type SeenRequest, type TestCa, type TestHttpsServer } from "../../test/harness/test-ca.js";

const V11 = roomVersion("11");

/** One simulated remote homeserver. */
export class RemoteServer {
  readonly key: SigningKey = signingKeyFromSeed("b1", randomBytes(32));
  /** Transactions the target sent here. */
  receivedTxns = 0;
  /** Called with each PDU (as JSON) of each transaction the target sends here. */
  onPdu: (pdu: JsonObject) => void = () => {};
  /** Requests this server does not serve, by method and path (what a target asked for that the harness lacks). */
  readonly unserved = new Map<string, number>();
  /** Federation requests answered by the room host (make_join, send_join): set by RemoteRoom. */
  extra: ((req: SeenRequest, path: string, res: ServerResponse) => boolean) | undefined;
  private server: TestHttpsServer | null = null;

  constructor(readonly ip: string, private readonly ca: TestCa) {}

  /** The IP literal: the port is the default 8448. */
  get name(): string {
    return this.ip;
  }

  get signer() {
    return { serverName: this.name, key: this.key };
  }

  async start(): Promise<void> {
    const leaf = await this.ca.issue({ ip: [this.ip] });
    this.server = await serveHttps(this.ip, 8448, leaf, (req, res) => this.handle(req, res));
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private handle(req: SeenRequest, res: ServerResponse): void {
    const path = req.url.split("?")[0]!;
    if (req.method === "GET" && path.startsWith("/_matrix/key/v2/server")) {
      const keys = { server_name: this.name, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [this.key.keyId]: { key: publicKeyBase64(this.key) } }, old_verify_keys: {} };
      return this.reply(res, 200, signJson(keys, this.name, this.key));
    }
    if (req.method === "GET" && path === "/_matrix/federation/v1/version") return this.reply(res, 200, { server: { name: "zion-fedbench-remote", version: "1" } });
    if (req.method === "PUT" && path.startsWith("/_matrix/federation/v1/send/")) {
      this.receivedTxns++;
      const body = JSON.parse(req.body) as JsonObject;
      for (const p of (body["pdus"] ?? []) as JsonObject[]) this.onPdu(p);
      // No per-PDU results: computing every event id here would spend the harness's CPU, and senders only log them.
      return this.reply(res, 200, { pdus: {} });
    }
    if (this.extra?.(req, path, res)) return;
    const k = `${req.method} ${path.replace(/![^/]+|%21[^/]+|@[^/]+|%40[^/]+/g, "…")}`;
    this.unserved.set(k, (this.unserved.get(k) ?? 0) + 1);
    return this.reply(res, 404, { errcode: "M_UNRECOGNIZED", error: `not served by the benchmark's remote: ${req.method} ${path}` });
  }
}

/** A v11 room hosted by `servers[0]`, with one joined user on every other server. */
export class RemoteRoom {
  readonly roomId: string;
  readonly owner: string;
  /** The room's events in order (create, owner's join, power levels, join rules, history visibility, then joins). */
  readonly events: Pdu[] = [];
  /** The target's join once send_join accepted it. */
  joinedMember: Pdu | undefined;
  /** Every event of the room the host can serve (/event, /get_missing_events), by id: the state, the join, every prepared PDU. */
  private readonly byId = new Map<string, Pdu>();

  constructor(readonly servers: readonly RemoteServer[]) {
    const host = servers[0]!;
    this.roomId = `!bench${randomBytes(6).toString("hex")}:${host.name}`;
    this.owner = `@owner:${host.name}`;
    const t0 = Date.now();
    const add = (type: string, stateKey: string, content: JsonObject, sender = this.owner, signer = host.signer) => {
      const prev = this.events.at(-1);
      this.events.push(buildPdu(V11, {
        type, stateKey, content, sender, roomId: this.roomId,
        prevEvents: prev ? [prev.eventId] : [], authEvents: this.authFor(type, sender), depth: this.events.length + 1, originServerTs: t0 + this.events.length,
      }, signer));
    };
    add("m.room.create", "", { room_version: "11" });
    add("m.room.member", this.owner, { membership: "join" });
    add("m.room.power_levels", "", { users: { [this.owner]: 100 }, users_default: 0, events_default: 0, state_default: 50 });
    add("m.room.join_rules", "", { join_rule: "public" });
    add("m.room.history_visibility", "", { history_visibility: "shared" });
    for (const s of servers.slice(1)) add("m.room.member", `@member:${s.name}`, { membership: "join" }, `@member:${s.name}`, s.signer);
    for (const e of this.events) this.byId.set(e.eventId, e);
    host.extra = (req, path, res) => this.handle(host, req, path, res);
  }

  get host(): RemoteServer {
    return this.servers[0]!;
  }

  /** create, power levels, the sender's membership and (for joins) join rules: the auth events of v11. */
  private authFor(type: string, sender: string): string[] {
    const find = (t: string, sk: string) => this.events.find((e) => e.type === t && e.stateKey === sk)?.eventId;
    const ids = [find("m.room.create", ""), find("m.room.power_levels", ""), find("m.room.member", sender)];
    if (type === "m.room.member") ids.push(find("m.room.join_rules", ""));
    return ids.filter((x) => x !== undefined).map(String);
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
      }, this.host.signer);
      out.push(p);
      this.byId.set(p.eventId, p);
      prev = p;
    }
    return out;
  }

  private handle(host: RemoteServer, req: SeenRequest, path: string, res: ServerResponse): boolean {
    let m = /^\/_matrix\/federation\/v1\/make_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const userId = decodeURIComponent(m[2]!);
      const prev = this.events.at(-1)!;
      const origin = userId.slice(userId.indexOf(":") + 1);
      host.reply(res, 200, {
        room_version: "11",
        event: { type: "m.room.member", state_key: userId, sender: userId, room_id: this.roomId, origin, content: { membership: "join" }, prev_events: [prev.eventId], auth_events: this.authFor("m.room.member", userId), depth: prev.depth + 1, origin_server_ts: Date.now() },
      });
      return true;
    }
    m = /^\/_matrix\/federation\/v2\/send_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (req.method === "PUT" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const state = this.events.map((e) => e.raw);
      const signed = signEvent(JSON.parse(req.body) as JsonObject, V11, host.signer);
      const pdu = parsePdu(signed, V11);
      this.events.push(pdu);
      this.byId.set(pdu.eventId, pdu);
      this.joinedMember = pdu;
      host.reply(res, 200, { origin: host.name, state, auth_chain: state, event: signed, members_omitted: false, servers_in_room: this.servers.map((s) => s.name) });
      return true;
    }
    // A real host answers these; a target that falls behind (Synapse prunes its inbound queue) asks for them.
    m = /^\/_matrix\/federation\/v1\/get_missing_events\/([^/]+)$/.exec(path);
    if (req.method === "POST" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const body = JSON.parse(req.body) as { limit?: number; min_depth?: number; earliest_events?: string[]; latest_events?: string[] };
      host.reply(res, 200, { events: this.missingEvents(body.latest_events ?? [], body.earliest_events ?? [], Math.min(body.limit ?? 10, 100), body.min_depth ?? 0) });
      return true;
    }
    // The state at any message is the room's state events and the target's join (messages change no state).
    m = /^\/_matrix\/federation\/v1\/(state_ids|state)\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m && decodeURIComponent(m[2]!) === this.roomId) {
      const id = new URL(req.url, "https://x").searchParams.get("event_id") ?? "";
      const e = this.byId.get(id);
      if (!e) return false;
      const state = e.type === "m.room.message" ? this.events : this.events.slice(0, this.events.indexOf(e));
      host.reply(res, 200, m[1] === "state_ids"
        ? { pdu_ids: state.map((x) => x.eventId), auth_chain_ids: state.map((x) => x.eventId) }
        : { pdus: state.map((x) => x.raw), auth_chain: state.map((x) => x.raw) });
      return true;
    }
    m = /^\/_matrix\/federation\/v1\/event\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m) {
      const e = this.byId.get(decodeURIComponent(m[1]!));
      if (!e) return false;
      host.reply(res, 200, { origin: host.name, origin_server_ts: Date.now(), pdus: [e.raw] });
      return true;
    }
    return false;
  }

  /** The events before `latest` back to (not including) `earliest`, breadth first, newest first, at most `limit`. */
  private missingEvents(latest: readonly string[], earliest: readonly string[], limit: number, minDepth: number): JsonObject[] {
    const stop = new Set([...earliest, ...latest]);
    const out: JsonObject[] = [];
    let frontier: string[] = latest.flatMap((id) => this.byId.get(id)?.prevEvents ?? []);
    while (frontier.length && out.length < limit) {
      const next: string[] = [];
      for (const id of frontier) {
        if (stop.has(id) || out.length >= limit) continue;
        stop.add(id);
        const e = this.byId.get(id);
        if (!e || e.depth < minDepth) continue;
        out.push(e.raw);
        next.push(...e.prevEvents);
      }
      frontier = next;
    }
    return out;
  }
}
