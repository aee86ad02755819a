/**
 * A fake remote homeserver for the federation sender's tests: a real HTTPS server (test-CA certificate) that
 * verifies each PUT /_matrix/federation/v1/send/{txnId} with Zion's real X-Matrix authenticator and the sending
 * server's public key, records what it accepts, and answers as each test tells it (ok, 500, hold, drop).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { publicKeyBase64, signJson, signingKeyFromSeed, type SigningKey } from "../../src/core/crypto/index.js";
import { computeEventId } from "../../src/core/events/index.js";
import type { EventId, KeyId, ServerName } from "../../src/core/ids/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/index.js";
import { createAuthenticator } from "../../src/federation/transport/authenticate.js";
import { serveHttps, type SeenRequest, type TestCa, type TestHttpsServer } from "./test-ca.js";

export interface ReceivedTxn {
  readonly txnId: string;
  readonly body: string;
  readonly pdus: JsonObject[];
  readonly edus: JsonObject[];
  readonly connection: number;
}

/** The sending server as the fake remote knows it: its name and the key its requests must verify with. */
export interface KnownSender {
  readonly serverName: ServerName;
  readonly key: Pick<SigningKey, "keyId" | "publicKey">;
}

const V11 = roomVersion("11");
/** Event ids of room version 11 PDUs (the tests' rooms). */
export const eventIdOf = (p: JsonObject): EventId => computeEventId(p, V11);
export const bodyOf = (p: JsonObject): unknown => (p["content"] as JsonObject | undefined)?.["body"];

/** A fake remote homeserver: a real HTTPS server that verifies X-Matrix and records every /send it accepts. */
export class FakeRemote {
  readonly key: SigningKey = signingKeyFromSeed("r1", randomBytes(32));
  readonly txns: ReceivedTxn[] = [];
  server: TestHttpsServer | null = null;
  /** How the next /send is answered. */
  answer: (t: ReceivedTxn, res: ServerResponse) => void = (t, res) => this.ok(t, res);
  /** Answer GET /_matrix/key/v2/server with `key` signed as `name`, so that the sender can verify requests the test signs as this remote (joins, transactions). */
  servesKeys = false;
  inFlight = 0;
  maxInFlight = 0;
  attempts: Array<{ txnId: string; at: number }> = [];
  private connectionsBefore = 0;

  constructor(readonly name: ServerName, readonly ip: string, private readonly ca: TestCa, private readonly sender: KnownSender) {}

  async start(): Promise<void> {
    const leaf = await this.ca.issue({ dns: [this.name] });
    const auth = createAuthenticator({
      serverName: this.name,
      keyRing: {
        getKeyForRequest: async (server: ServerName, keyId: KeyId) =>
          server === this.sender.serverName && keyId === this.sender.key.keyId
            ? { ok: true as const, key: { publicKey: this.sender.key.publicKey, usableUntil: Infinity } }
            : { ok: false as const, reason: "unknown key" },
      },
    });
    this.server = await serveHttps(this.ip, 8448, leaf, (req, res) => void this.handle(req, res, auth));
  }

  async stop(): Promise<void> {
    if (this.server) this.connectionsBefore += this.server.connections();
    await this.server?.close();
    this.server = null;
  }

  connections(): number {
    return this.connectionsBefore + (this.server?.connections() ?? 0);
  }

  ok(t: ReceivedTxn, res: ServerResponse): void {
    this.txns.push(t);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pdus: Object.fromEntries(t.pdus.map((p) => [eventIdOf(p), {}])) }));
  }

  private async handle(req: SeenRequest, res: ServerResponse, auth: ReturnType<typeof createAuthenticator>): Promise<void> {
    if (this.servesKeys && req.method === "GET" && req.url === "/_matrix/key/v2/server") {
      const keys = { server_name: this.name, valid_until_ts: Date.now() + 86_400_000, verify_keys: { [this.key.keyId]: { key: publicKeyBase64(this.key) } }, old_verify_keys: {} };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(signJson(keys, this.name, this.key)));
      return;
    }
    const m = /^\/_matrix\/federation\/v1\/send\/([^/?]+)$/.exec(req.url);
    if (req.method !== "PUT" || !m) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "not here" }));
      return;
    }
    const body = JSON.parse(req.body) as JsonObject;
    try {
      const { origin } = await auth({ method: req.method, uri: req.url, authorization: req.headers.authorization, body });
      assert.equal(origin, this.sender.serverName);
      assert.equal(body["origin"], this.sender.serverName);
    } catch (e) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_UNAUTHORIZED", error: String(e) }));
      return;
    }
    const t: ReceivedTxn = { txnId: decodeURIComponent(m[1]!), body: req.body, pdus: (body["pdus"] ?? []) as JsonObject[], edus: (body["edus"] ?? []) as JsonObject[], connection: req.connection };
    this.attempts.push({ txnId: t.txnId, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on("close", () => this.inFlight--);
    this.answer(t, res);
  }

  /** Every EDU received, in arrival order. */
  edus(): JsonObject[] {
    return this.txns.flatMap((t) => t.edus);
  }

  /** Every PDU received, in arrival order. */
  pdus(): JsonObject[] {
    return this.txns.flatMap((t) => t.pdus);
  }
}


