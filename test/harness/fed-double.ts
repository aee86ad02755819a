/**
 * A test double for another homeserver, named by IP literal (`127.0.0.1:<port>`, so no DNS is involved): a real
 * HTTPS server (test-CA certificate with the IP in its subjectAltName) that serves its signing keys, verifies the
 * X-Matrix signature of every other request with Zion's real authenticator and Zion's public key, counts requests
 * per route, and answers each route as the test says (a handler may hold its answer open). It signs its own
 * requests to Zion with a FederationClient, and builds and signs events of its own rooms (`DoubleRoom`).
 *
 *   const d = await startFedDouble(ca, https, { serverName: ZION, key: zionKey });
 *   d.on("GET", /^\/_matrix\/federation\/v1\/state_ids\//, "state_ids", (req, res) => d.json(res, 200, {...}));
 *   d.count("state_ids");
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { buildPdu, stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/index.js";
import type { EventId, KeyId, RoomId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject, JsonValue } from "../../src/core/json/types.js";
import { roomVersion, type RoomVersionRules } from "../../src/core/room-versions/index.js";
import type { HttpsClient } from "../../src/federation/tls/https-client.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import type { FederationClient } from "../../src/federation/transport/client.js";
import { ipLiteralFederationClient, testHttpsClient } from "./federation-client.js";
import { freePort } from "./ports.js";
import { startTestServer, type TestServer } from "./server.js";
import { serveHttps, type SeenRequest, type TestCa, type TestHttpsServer } from "./test-ca.js";

/** An in-process Zion that doubles talk to: its federation listener on HTTPS at 127.0.0.1:<port> (its name). */
export interface ZionForDoubles {
  readonly zion: TestServer;
  readonly serverName: ServerName;
  readonly key: SigningKey;
  /** Trusts the test CA: what the doubles sign their requests to Zion with. */
  readonly https: HttpsClient;
}

/**
 * Starts Zion named by IP literal with a test-CA certificate, open registration on a plain client listener, and
 * outbound federation allowed to 127.0.0.1 only (no notaries); `config` and `startOptions` add to that.
 */
export async function startZionForDoubles(
  ca: TestCa, opts: { config?: Record<string, unknown>; startOptions?: NonNullable<Parameters<typeof startTestServer>[0]>["startOptions"] } = {},
): Promise<ZionForDoubles> {
  const port = await freePort("127.0.0.1");
  const serverName = `127.0.0.1:${port}` as ServerName;
  const key = signingKeyFromSeed("z1", randomBytes(32));
  const leaf = await ca.issue({ ip: ["127.0.0.1"] });
  const zion = await startTestServer({
    serverName, signingKey: key, tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    ...(opts.startOptions ? { startOptions: opts.startOptions } : {}),
    config: {
      listeners: [
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
        { port, bind_addresses: ["127.0.0.1"], type: "http", tls: true, resources: [{ names: ["federation"] }] },
      ],
      enable_registration: true, enable_registration_without_verification: true,
      ip_range_whitelist: ["127.0.0.1/32"], federation_custom_ca_list: [ca.caCertPath], trusted_key_servers: [],
      ...opts.config,
    },
  });
  return { zion, serverName, key, https: testHttpsClient(ca.caCertPem, { requestTimeoutMs: 20_000 }) };
}

export type DoubleHandler = (req: SeenRequest, match: RegExpExecArray, res: ServerResponse) => void | Promise<void>;

interface Route { readonly method: string; readonly re: RegExp; readonly label: string; handle: DoubleHandler }

export interface FedDouble {
  readonly name: ServerName;
  readonly key: SigningKey;
  readonly server: TestHttpsServer;
  /** Signs as this double. */
  readonly client: FederationClient;
  /** The bodies of the transactions Zion sent it (answered 200 unless a route for PUT /send is added). */
  readonly received: readonly JsonObject[];
  /** Adds (or, for the same label, replaces) a route; the first route matching method and path answers. */
  on(method: string, re: RegExp, label: string, handle: DoubleHandler): void;
  /** Verified requests a route has received. */
  count(label: string): number;
  json(res: ServerResponse, status: number, body: unknown): void;
  close(): Promise<void>;
}

/** Starts a double on 127.0.0.1 (an ephemeral port) that trusts requests signed by `zion`. */
export async function startFedDouble(ca: TestCa, https: HttpsClient, zion: { serverName: string; key: Pick<SigningKey, "keyId" | "publicKey"> }): Promise<FedDouble> {
  const key = signingKeyFromSeed(`d${randomBytes(3).toString("hex")}`, randomBytes(32));
  const routes: Route[] = [];
  const counts = new Map<string, number>();
  const received: JsonObject[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  let name = "" as ServerName;
  let auth: ReturnType<typeof createAuthenticator> | undefined;
  const leaf = await ca.issue({ ip: ["127.0.0.1"] });
  const server = await serveHttps("127.0.0.1", 0, leaf, (req, res) => {
    void (async () => {
      const path = req.url.split("?")[0]!;
      if (req.method === "GET" && path === "/_matrix/key/v2/server") {
        const keys = { server_name: name, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [key.keyId]: { key: publicKeyBase64(key) } }, old_verify_keys: {} };
        return json(res, 200, signJson(keys, name, key));
      }
      try {
        const body = req.body.length > 0 ? (JSON.parse(req.body) as JsonValue) : undefined;
        const { origin } = await auth!({ method: req.method, uri: req.url, authorization: req.headers.authorization, body });
        assert.equal(origin, zion.serverName);
      } catch (e) {
        return json(res, 401, { errcode: "M_UNAUTHORIZED", error: String(e) });
      }
      for (const r of routes) {
        const m = r.method === req.method ? r.re.exec(path) : null;
        if (!m) continue;
        counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
        return r.handle(req, m, res);
      }
      // Transactions Zion sends (its events and EDUs for the rooms the double is in) are accepted and kept.
      if (req.method === "PUT" && path.startsWith("/_matrix/federation/v1/send/")) {
        received.push(JSON.parse(req.body) as JsonObject);
        return json(res, 200, { pdus: {} });
      }
      json(res, 404, { errcode: "M_UNRECOGNIZED", error: `the double does not serve ${req.method} ${path}` });
    })().catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { errcode: "M_UNKNOWN", error: String(e) });
    });
  });
  name = `127.0.0.1:${server.port}` as ServerName;
  auth = createAuthenticator({
    serverName: name,
    keyRing: {
      getKeyForRequest: async (s: ServerName, keyId: KeyId) =>
        s === zion.serverName && keyId === zion.key.keyId
          ? { ok: true as const, key: { publicKey: zion.key.publicKey, usableUntil: Infinity } }
          : { ok: false as const, reason: "unknown key" },
    },
  });
  const client = ipLiteralFederationClient(https, name, key, ["127.0.0.1/32"]);
  return {
    name, key, server, client, json, received,
    on(method, re, label, handle) {
      const i = routes.findIndex((r) => r.label === label);
      const route = { method, re, label, handle };
      if (i >= 0) routes[i] = route;
      else routes.push(route);
    },
    count: (label) => counts.get(label) ?? 0,
    close: () => server.close(),
  };
}

/** The wire form of a PDU (what a server sends: no `unsigned`). */
export const wire = (p: Pdu): JsonObject => {
  const { unsigned: _u, ...rest } = p.raw as Record<string, JsonValue>;
  return rest;
};

/**
 * A room of the double's, built and signed by it: the create event, its user's join, power levels (that user at
 * 100) and `join_rules`, then whatever the test appends. Each event's auth events are taken from the state so far.
 */
export class DoubleRoom {
  readonly rules: RoomVersionRules;
  readonly events: Pdu[] = [];
  readonly state = new Map<StateKey, Pdu>();
  readonly roomId: RoomId;
  readonly creator: string;

  constructor(private readonly signer: { name: ServerName; key: SigningKey }, version = "11", joinRule: JsonObject = { join_rule: "public" }) {
    this.rules = roomVersion(version);
    this.roomId = `!${randomBytes(6).toString("hex")}:${signer.name}` as RoomId;
    this.creator = `@d:${signer.name}`;
    this.add("m.room.create", this.creator, { room_version: version }, "");
    this.add("m.room.member", this.creator, { membership: "join" }, this.creator);
    this.add("m.room.power_levels", this.creator, { users: { [this.creator]: 100 } }, "");
    this.add("m.room.join_rules", this.creator, joinRule, "");
  }

  /** Auth event ids of an event of `type` by `sender` (for a member event, about `stateKey`) over the current state. */
  authFor(type: string, sender: string, stateKey?: string): EventId[] {
    const get = (t: string, k: string) => this.state.get(stateKeyOf(t, k))?.eventId;
    const ids = [get("m.room.create", ""), get("m.room.power_levels", ""), get("m.room.member", sender)];
    if (type === "m.room.member") ids.push(get("m.room.join_rules", ""), stateKey !== undefined && stateKey !== sender ? get("m.room.member", stateKey) : undefined);
    return [...new Set(ids.filter((x): x is EventId => x !== undefined))];
  }

  /** Builds, signs and appends an event after the last one (`push: false`: built but not appended). */
  add(type: string, sender: string, content: JsonObject, stateKey?: string, o: { push?: boolean; prev?: readonly Pdu[] } = {}): Pdu {
    const prev = o.prev ?? (this.events.length ? [this.events.at(-1)!] : []);
    const p = buildPdu(this.rules, {
      type, sender, content, roomId: this.roomId, ...(stateKey !== undefined ? { stateKey } : {}),
      prevEvents: prev.map((e) => e.eventId),
      authEvents: type === "m.room.create" ? [] : this.authFor(type, sender, stateKey),
      depth: Math.max(0, ...prev.map((e) => e.depth)) + 1, originServerTs: Date.now(),
    }, { serverName: this.signer.name, key: this.signer.key });
    if (o.push !== false) {
      this.events.push(p);
      if (stateKey !== undefined) this.state.set(stateKeyOf(type, stateKey), p);
    }
    return p;
  }

  /** A make_join template for `userId` over the current state. */
  joinTemplate(userId: string, content: JsonObject = { membership: "join" }): JsonObject {
    const last = this.events.at(-1)!;
    return {
      room_id: this.roomId, type: "m.room.member", sender: userId, state_key: userId, content,
      prev_events: [last.eventId], auth_events: this.authFor("m.room.member", userId, userId),
      depth: last.depth + 1, origin: this.signer.name, origin_server_ts: Date.now(),
    };
  }

  /** Every event of the current state, in wire form. */
  stateWire(): JsonObject[] {
    return [...this.state.values()].map(wire);
  }
}
