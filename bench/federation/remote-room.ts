/**
 * The simulated remote homeservers of the federation benchmark. Each is a real HTTPS server on its own 127.0.x.y
 * address, named by that IP literal (test-CA certificate with the address as its IP SAN, federation on 8448), with
 * its own ed25519 key served at /_matrix/key/v2/server, accepting every PUT /send (without checking X-Matrix: the
 * harness must stay light) and recording the PDUs it is sent.
 *
 * `RemoteRoom` is one room version 11 room hosted by the first server: its owner created it, and by default one user
 * of every other server joined it, each join signed by its own server, so a target that joins over make_join /
 * send_join shares the room with all of them and must send its events to every one. A builder makes other rooms
 * (the big join's thousands of members, the state conflicts' base). Every PDU the harness pushes or answers with is
 * built and signed (libsodium, via src/core/crypto) before the clock starts.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu, parsePdu, signEvent, type Pdu } from "../../src/core/events/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { serveHttps, type SeenRequest, type TestCa, type TestHttpsServer } from "../../test/harness/test-ca.js";

export const V11 = roomVersion("11");

type Handler = (req: SeenRequest, path: string, res: ServerResponse) => boolean;

/** One simulated remote homeserver. */
export class RemoteServer {
  readonly key: SigningKey = signingKeyFromSeed("b1", randomBytes(32));
  /** Transactions the target sent here. */
  receivedTxns = 0;
  /** Called with each PDU (as JSON) of each transaction the target sends here. */
  onPdu: (pdu: JsonObject) => void = () => {};
  /** Requests this server does not serve, by method and path (what a target asked for that the harness lacks). */
  readonly unserved = new Map<string, number>();
  /** Federation requests answered for the rooms this server is in (make_join, send_join, state, events): added by RemoteRoom. */
  readonly handlers: Handler[] = [];
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
    for (const h of this.handlers) if (h(req, path, res)) return;
    const k = `${req.method} ${path.replace(/![^/]+|%21[^/]+|@[^/]+|%40[^/]+/g, "…")}`;
    this.unserved.set(k, (this.unserved.get(k) ?? 0) + 1);
    return this.reply(res, 404, { errcode: "M_UNRECOGNIZED", error: `not served by the benchmark's remote: ${req.method} ${path}` });
  }
}

/** Builds the events of a room in order: `add` appends one state event citing the one before. */
export type RoomBuilder = (add: (type: string, stateKey: string, content: JsonObject, sender: string, signer: RemoteServer) => Pdu, room: RemoteRoom) => void;

/** The shared room of ingest and fan-out: create, owner's join, power levels, join rules, history visibility, then one member of every other server. */
const SHARED: RoomBuilder = (add, room) => {
  for (const s of room.servers.slice(1)) add("m.room.member", `@member:${s.name}`, { membership: "join" }, `@member:${s.name}`, s);
};

/**
 * A v11 room hosted by `servers[0]`: create, owner's join, power levels, join rules (public), history visibility,
 * then whatever `build` adds (by default one joined user on every other server), one linear chain signed now. The
 * host answers make_join and send_join (honouring `omit_members`: the state without its member events, the auth
 * chain without the state, `servers_in_room`); every server of `servers` answers /state_ids, /state, /event,
 * /get_missing_events and /backfill for it, as any resident server would, so a target that joined partially can
 * complete its state from any of them.
 */
export class RemoteRoom {
  readonly roomId: string;
  readonly owner: string;
  /** The room's linear chain: the events `build` made, then the target's join once it came. */
  readonly events: Pdu[] = [];
  /** The target's join once send_join accepted it. */
  joinedMember: Pdu | undefined;
  /** Whether the last send_join asked for `omit_members` (a partial join). */
  omitMembersAsked = false;
  /** Every event of the room the host can serve (/event, /get_missing_events), by id: the state, the join, every prepared PDU. */
  private readonly byId = new Map<string, Pdu>();
  /** The current state of `events`, by type and state key. */
  private readonly state = new Map<string, Pdu>();
  private readonly baseLength: number;
  private readonly handlers: [RemoteServer, Handler][] = [];

  constructor(readonly servers: readonly RemoteServer[], build: RoomBuilder = SHARED) {
    const host = servers[0]!;
    this.roomId = `!bench${randomBytes(6).toString("hex")}:${host.name}`;
    this.owner = `@owner:${host.name}`;
    const t0 = Date.now();
    const add = (type: string, stateKey: string, content: JsonObject, sender: string, signer: RemoteServer): Pdu => {
      const prev = this.events.at(-1);
      const pdu = buildPdu(V11, {
        type, stateKey, content, sender, roomId: this.roomId,
        prevEvents: prev ? [prev.eventId] : [], authEvents: this.authFor(type, sender), depth: this.events.length + 1, originServerTs: t0 + this.events.length,
      }, signer.signer);
      this.push(pdu);
      return pdu;
    };
    add("m.room.create", "", { room_version: "11" }, this.owner, host);
    add("m.room.member", this.owner, { membership: "join" }, this.owner, host);
    add("m.room.power_levels", "", { users: { [this.owner]: 100 }, users_default: 0, events_default: 0, state_default: 50 }, this.owner, host);
    add("m.room.join_rules", "", { join_rule: "public" }, this.owner, host);
    add("m.room.history_visibility", "", { history_visibility: "shared" }, this.owner, host);
    build(add, this);
    this.baseLength = this.events.length;
    for (const s of servers) {
      const h: Handler = (req, path, res) => this.handle(s, req, path, res);
      s.handlers.push(h);
      this.handlers.push([s, h]);
    }
  }

  get host(): RemoteServer {
    return this.servers[0]!;
  }

  /** The state event of `type` and `stateKey` in the room's current state. */
  current(type: string, stateKey: string): Pdu | undefined {
    return this.state.get(`${type}\u0000${stateKey}`);
  }

  /** Makes `pdu` servable (/event, /state_ids at it, /get_missing_events): for events built outside the chain. */
  register(pdu: Pdu): void {
    this.byId.set(pdu.eventId, pdu);
  }

  /** Back to the room as built, before any target joined (so the next target joins the same room afresh). */
  resetJoin(): void {
    for (const e of this.events.splice(this.baseLength)) {
      this.byId.delete(e.eventId);
      if (e.stateKey !== undefined) this.state.delete(`${e.type}\u0000${e.stateKey}`);
    }
    this.joinedMember = undefined;
    this.omitMembersAsked = false;
  }

  /** Stops answering for this room. */
  close(): void {
    for (const [s, h] of this.handlers) s.handlers.splice(s.handlers.indexOf(h), 1);
    this.handlers.length = 0;
  }

  private push(pdu: Pdu): void {
    this.events.push(pdu);
    this.byId.set(pdu.eventId, pdu);
    if (pdu.stateKey !== undefined) this.state.set(`${pdu.type}\u0000${pdu.stateKey}`, pdu);
  }

  /** create, power levels, the sender's membership and (for joins) join rules: the auth events of v11. */
  authFor(type: string, sender: string): string[] {
    const ids = [this.current("m.room.create", "")?.eventId, this.current("m.room.power_levels", "")?.eventId, this.current("m.room.member", sender)?.eventId];
    if (type === "m.room.member") ids.push(this.current("m.room.join_rules", "")?.eventId);
    return ids.filter((x) => x !== undefined).map(String);
  }

  /** The state before `e`: every event of this harness cites one prev event, so the fold of its ancestors. */
  stateBefore(e: Pdu): Pdu[] {
    const line: Pdu[] = [];
    for (let p = this.byId.get(e.prevEvents[0] ?? ""); p; p = this.byId.get(p.prevEvents[0] ?? "")) line.push(p);
    const m = new Map<string, Pdu>();
    for (let i = line.length - 1; i >= 0; i--) if (line[i]!.stateKey !== undefined) m.set(`${line[i]!.type}\u0000${line[i]!.stateKey}`, line[i]!);
    return [...m.values()];
  }

  /** The auth chain of `ids` (their auth events, recursively; not `ids` themselves unless cited). */
  authChain(ids: Iterable<string>): Pdu[] {
    const seen = new Set<string>();
    const out: Pdu[] = [];
    let frontier: string[] = [...ids].flatMap((id) => this.byId.get(id)?.authEvents ?? []);
    while (frontier.length) {
      const next: string[] = [];
      for (const id of frontier) {
        if (seen.has(id)) continue;
        seen.add(id);
        const a = this.byId.get(id);
        if (!a) continue;
        out.push(a);
        next.push(...a.authEvents);
      }
      frontier = next;
    }
    return out;
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

  private handle(srv: RemoteServer, req: SeenRequest, path: string, res: ServerResponse): boolean {
    const isHost = srv === this.host;
    let m = /^\/_matrix\/federation\/v1\/make_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (isHost && req.method === "GET" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const userId = decodeURIComponent(m[2]!);
      const prev = this.events.at(-1)!;
      const origin = userId.slice(userId.indexOf(":") + 1);
      srv.reply(res, 200, {
        room_version: "11",
        event: { type: "m.room.member", state_key: userId, sender: userId, room_id: this.roomId, origin, content: { membership: "join" }, prev_events: [prev.eventId], auth_events: this.authFor("m.room.member", userId), depth: prev.depth + 1, origin_server_ts: Date.now() },
      });
      return true;
    }
    m = /^\/_matrix\/federation\/v2\/send_join\/([^/]+)\/([^/]+)$/.exec(path);
    if (isHost && req.method === "PUT" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const omit = new URL(req.url, "https://x").searchParams.get("omit_members") === "true";
      const signed = signEvent(JSON.parse(req.body) as JsonObject, V11, srv.signer);
      const pdu = parsePdu(signed, V11);
      const before = [...this.state.values()];
      this.push(pdu);
      this.joinedMember = pdu;
      this.omitMembersAsked = omit;
      // The spec's send_join: with omit_members, the state may leave out m.room.member events and the auth chain
      // may leave out what the state holds; servers_in_room then names where to fetch the rest.
      const state = omit ? before.filter((e) => e.type !== "m.room.member") : before;
      const inState = new Set(omit ? state.map((e) => e.eventId) : []);
      const chain = this.authChain([...before.map((e) => e.eventId), pdu.eventId]).filter((e) => !inState.has(e.eventId));
      const servers = new Set(before.filter((e) => e.type === "m.room.member" && e.content["membership"] === "join").map((e) => e.stateKey!.slice(e.stateKey!.indexOf(":") + 1)));
      srv.reply(res, 200, { origin: srv.name, state: state.map((e) => e.raw), auth_chain: chain.map((e) => e.raw), event: signed, members_omitted: omit, servers_in_room: [...servers] });
      return true;
    }
    // A real host answers these; a target that falls behind (Synapse prunes its inbound queue) asks for them.
    m = /^\/_matrix\/federation\/v1\/get_missing_events\/([^/]+)$/.exec(path);
    if (req.method === "POST" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const body = JSON.parse(req.body) as { limit?: number; min_depth?: number; earliest_events?: string[]; latest_events?: string[] };
      srv.reply(res, 200, { events: this.missingEvents(body.latest_events ?? [], body.earliest_events ?? [], Math.min(body.limit ?? 10, 100), body.min_depth ?? 0) });
      return true;
    }
    m = /^\/_matrix\/federation\/v1\/backfill\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m && decodeURIComponent(m[1]!) === this.roomId) {
      const q = new URL(req.url, "https://x").searchParams;
      const from = q.getAll("v").filter((id) => this.byId.has(id));
      const limit = Math.min(Number(q.get("limit") ?? 10) || 10, 100);
      const out = from.map((id) => this.byId.get(id)!.raw);
      srv.reply(res, 200, { origin: srv.name, origin_server_ts: Date.now(), pdus: [...out, ...this.missingEvents(from, [], limit - out.length, 0)].slice(0, limit) });
      return true;
    }
    // The state before an event (what /state and /state_ids at it mean), and its auth chain.
    m = /^\/_matrix\/federation\/v1\/(state_ids|state)\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m && decodeURIComponent(m[2]!) === this.roomId) {
      const id = new URL(req.url, "https://x").searchParams.get("event_id") ?? "";
      const e = this.byId.get(id);
      if (!e) return false;
      const state = this.stateBefore(e);
      const chain = this.authChain(state.map((x) => x.eventId));
      srv.reply(res, 200, m[1] === "state_ids"
        ? { pdu_ids: state.map((x) => x.eventId), auth_chain_ids: chain.map((x) => x.eventId) }
        : { pdus: state.map((x) => x.raw), auth_chain: chain.map((x) => x.raw) });
      return true;
    }
    m = /^\/_matrix\/federation\/v1\/event\/([^/]+)$/.exec(path);
    if (req.method === "GET" && m) {
      const e = this.byId.get(decodeURIComponent(m[1]!));
      if (!e) return false;
      srv.reply(res, 200, { origin: srv.name, origin_server_ts: Date.now(), pdus: [e.raw] });
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
