/**
 * Inbound X-Matrix authentication with the origin's key cached (target: under 0.3 ms at the median). Prints the
 * median and p99 per request for a GET without body and a PUT /send with a 20-PDU transaction body, and the
 * share of that time spent in the ed25519 verification alone.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { publicKeyBase64, signingKeyFromSeed, signedBytes, verifySignatureBytes } from "../../core/crypto/index.js";
import type { ServerName } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { KeyRing } from "../keys/key-ring.js";
import { MemoryKeyStore } from "../keys/memory-key-store.js";
import { createAuthenticator } from "./authenticate.js";
import { parseXMatrix, requestJson, signRequest } from "./x-matrix.js";

const N = 20_000;
const now = 1_800_000_000_000;
const clock: Clock = { now: () => now, sleep: async () => {} };
const ours = "zion.example.org" as ServerName;
const origin = "remote.example.org" as ServerName;
const remoteKey = signingKeyFromSeed("a1", randomBytes(32));
const store = new MemoryKeyStore();
await store.upsertServerKeys([{
  serverName: origin, keyId: remoteKey.keyId, publicKey: publicKeyBase64(remoteKey), validUntilTs: now + 86_400_000,
  expiredTs: null, fetchedTs: now, fetchedFrom: origin, keyJson: {},
}]);
const keyRing = new KeyRing({
  store, clock, own: { serverName: ours, signingKeys: [signingKeyFromSeed("z1", randomBytes(32))] },
  client: { fetchServerKeys: async () => { throw new Error("no network in the benchmark"); }, queryKeysViaNotary: async () => { throw new Error("no"); } },
});
const authenticate = createAuthenticator({ serverName: ours, keyRing });

function stats(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p99: s[Math.floor(s.length * 0.99)]! };
}

const pdu = (i: number): JsonObject => ({
  type: "m.room.message", room_id: "!room:remote.example.org", sender: "@u:remote.example.org", origin_server_ts: now + i,
  content: { msgtype: "m.text", body: `message number ${i} with some text in it` }, depth: 100 + i,
  prev_events: [`$prev${i}`], auth_events: ["$create", "$pl", "$member"], hashes: { sha256: "x".repeat(43) },
  signatures: { "remote.example.org": { "ed25519:a1": "y".repeat(86) } },
});
const cases = [
  { name: "GET /query/profile", method: "GET", uri: "/_matrix/federation/v1/query/profile?user_id=%40a%3Azion.example.org", body: undefined },
  { name: "PUT /send (20 PDUs)", method: "PUT", uri: "/_matrix/federation/v1/send/1700000000", body: { origin, origin_server_ts: now, pdus: Array.from({ length: 20 }, (_, i) => pdu(i)) } as JsonObject },
];

for (const c of cases) {
  const authorization = signRequest({ method: c.method, uri: c.uri, origin, destination: ours, ...(c.body ? { content: c.body } : {}) }, remoteKey);
  const req = { method: c.method, uri: c.uri, authorization, body: c.body };
  for (let i = 0; i < 2000; i++) await authenticate(req); // warm the key cache and the JIT
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await authenticate(req);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  // The ed25519 check alone, on the same bytes.
  const sig = (parseXMatrix(authorization) as { ok: true; value: { sig: string } }).value.sig;
  const bytes = signedBytes(requestJson({ method: c.method, uri: c.uri, origin, destination: ours, ...(c.body ? { content: c.body } : {}) }));
  const verify: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    verifySignatureBytes(bytes, sig, remoteKey.publicKey, "bench");
    verify.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const a = stats(samples);
  const v = stats(verify);
  console.log(`inbound auth, cached key, ${c.name}, ${N} requests: ${a.median.toFixed(4)} ms median, ${a.p99.toFixed(4)} ms p99 (target < 0.3 ms); ed25519 verify alone ${v.median.toFixed(4)} ms (${((v.median / a.median) * 100).toFixed(0)}%)`);
}
