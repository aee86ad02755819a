/**
 * Benchmarks of the signed-JSON and event core (issue 3, "Performance").
 * Prints figures and ratios measured in the same run; never asserts time.
 *
 * 1. Signature verification of realistic PDUs (1-2 KB canonical JSON) through
 *    verifyEventsBatch's signature path (redact + canonical bytes + key lookup +
 *    base64 + ed25519) against raw libsodium verification of the same signed
 *    bytes; and the whole checkPdu (format, signatures, content hash, id).
 * 2. canonicalJson of the same PDU objects against JSON.stringify.
 * 3. Content hash + reference hash + event id per second.
 *
 * Run: npm run bench -- pdu.bench
 */
import { signingKeyFromSeed } from "../crypto/keys.js";
import { sha256, utf8Scratch, verifyDetached } from "../crypto/primitives.js";
import { signatureOf, verifyServerSignature } from "../crypto/sign.js";
import { decodeBase64 } from "../json/base64.js";
import { canonicalJson, canonicalJsonBytes } from "../json/canonical.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import { buildPdu } from "./build.js";
import { verifyEventsBatch } from "./check.js";
import { computeEventId, contentHash, eventIdFromReferenceHash, redactedSignedBytes, redactedSignedText, referenceHash } from "./hashes.js";

const rules = roomVersion("10");
const key = signingKeyFromSeed("bench", sha256(new TextEncoder().encode("bench")));
const verifyKey = { publicKey: key.publicKey }; // as a key cache hands out its stored entry
const lookup = () => verifyKey;

/** Deterministic filler text (a little non-ASCII, like real chat). */
function text(n: number, seed: number): string {
  const words = ["federation", "matrix", "room", "state", "résumé", "日本語", "event", "signature", "hello", "🎉", "server", "join"];
  let out = "";
  let x = seed;
  while (out.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out += words[x % words.length] + " ";
  }
  return Array.from(out).slice(0, n).join("");
}

function realisticPdu(i: number): JsonObject {
  const body = text(300 + (i % 5) * 90, i);
  return buildPdu(rules, {
    type: "m.room.message",
    sender: `@user${i % 37}:example.org`,
    roomId: "!OGEhHVWSdvArJzumhm:matrix.org",
    content: {
      msgtype: "m.text",
      body,
      format: "org.matrix.custom.html",
      formatted_body: `<p>${Array.from(body).slice(0, 300).join("")}</p>`,
      "m.mentions": { user_ids: [`@user${(i + 1) % 37}:example.org`] },
      "m.relates_to": { "m.in_reply_to": { event_id: "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg" } },
    },
    prevEvents: ["$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg", "$8Jv6mQ3tN2c0kqsnR0dF7nW-3Lk4gVxY8cZbq2o1pEc"],
    authEvents: [
      "$h2Sx9sYvm9Jk7m0yVx3o3o3Q1bW8nq8s1c0ZQ9Xr0Cw",
      "$Ky2b9Z8c7d6e5f4g3h2i1j0k9l8m7n6o5p4q3r2s1t0",
      "$Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3Ab4C",
    ],
    depth: 100_000 + i,
    originServerTs: 1_700_000_000_000 + i * 1000,
    unsigned: { age_ts: 1_700_000_000_000 + i * 1000 },
  }, { serverName: "example.org", key }).raw;
}

const N = 2000;
const events = Array.from({ length: N }, (_, i) => realisticPdu(i));
const sizes = events.map((e) => canonicalJsonBytes(e).length);
const signedBytes = events.map((e) => redactedSignedBytes(e, rules));
const sigs = events.map((e) => decodeBase64(signatureOf(e, "example.org", key.keyId) as string));

/** CPU time of this process in nanoseconds (user + system): unlike wall time, it does not count time other processes held the core. */
function cpuNs(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}

/**
 * Times `a` and `b` over the same events, interleaved in blocks of 50 events
 * (a's block, then b's), so whatever else the machine does falls on both
 * alike. Rates are per second of CPU time (one core) and, in brackets, of
 * wall time, over `rounds` passes after a warm-up pass. `pairMedian` is the
 * median over all adjacent block pairs of a's rate / b's rate: a pair shares
 * the machine's conditions, and the median ignores pairs where another
 * process's burst landed on one side only.
 */
function compare(label: string, a: [string, (i: number) => unknown], b: [string, (i: number) => unknown], rounds = 10): { a: number; b: number; pairMedian: number; aMedian: number } {
  const BLOCK = 50;
  let ca = 0n, cb = 0n, wa = 0n, wb = 0n, sink = 0;
  const pairs: number[] = [];
  const blockRatesA: number[] = [];
  for (let r = -1; r < rounds; r++) {
    for (let start = 0; start < N; start += BLOCK) {
      const end = Math.min(N, start + BLOCK);
      const c0 = cpuNs(), w0 = process.hrtime.bigint();
      for (let i = start; i < end; i++) if (a[1](i)) sink++;
      const c1 = cpuNs(), w1 = process.hrtime.bigint();
      for (let i = start; i < end; i++) if (b[1](i)) sink++;
      const c2 = cpuNs(), w2 = process.hrtime.bigint();
      if (r >= 0) {
        ca += c1 - c0; cb += c2 - c1; wa += w1 - w0; wb += w2 - w1;
        if (c1 > c0 && c2 > c1) pairs.push(Number(c2 - c1) / Number(c1 - c0));
        if (c1 > c0) blockRatesA.push((end - start) / (Number(c1 - c0) / 1e9));
      }
    }
  }
  if (sink < 0) console.log(sink);
  pairs.sort((x, y) => x - y);
  const pairMedian = pairs[Math.floor(pairs.length / 2)] ?? NaN;
  blockRatesA.sort((x, y) => x - y);
  const aMedian = blockRatesA[Math.floor(blockRatesA.length / 2)] ?? NaN;
  const rate = (t: bigint) => (rounds * N) / (Number(t) / 1e9);
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  console.log(`${label}`);
  console.log(`  ${a[0].padEnd(44)} ${fmt(rate(ca)).padStart(10)} /s of CPU   (${fmt(rate(wa))} /s wall)`);
  console.log(`  ${b[0].padEnd(44)} ${fmt(rate(cb)).padStart(10)} /s of CPU   (${fmt(rate(wb))} /s wall)`);
  return { a: rate(ca), b: rate(cb), pairMedian, aMedian };
}

const min = Math.min(...sizes), max = Math.max(...sizes);
const avgSigned = Math.round(signedBytes.reduce((s, b) => s + b.length, 0) / N);
const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
console.log(`load average while starting: ${load} (other processes share the cores; CPU-time rates are the per-core figures)`);
console.log(`${N} m.room.message PDUs (room version 10), canonical JSON ${min}-${max} bytes; redacted signed bytes ~${avgSigned} bytes\n`);

// 1. signature verification: a cold sweep over 2,000 events (none in cache when its turn comes), then a 50-PDU
// transaction verified as it arrives (its events just parsed, so in cache): the same 50 events over and over.
const hot = (f: (i: number) => unknown) => (i: number) => f(i % 50);
const sig = compare(
  "1. signature verification",
  ["Zion: redact + canonical + lookup + verify", (i) => verifyServerSignature(events[i]!, utf8Scratch(redactedSignedText(events[i]!, rules)), "example.org", lookup).ok],
  ["raw libsodium verify of the same bytes", (i) => verifyDetached(sigs[i]!, signedBytes[i]!, key.publicKey)],
);
console.log(`  ratio Zion / raw libsodium: ${(100 * sig.a / sig.b).toFixed(1)}% over the whole run, ${(100 * sig.pairMedian).toFixed(1)}% median of block pairs (target >= 90%)`);
const sigHot = compare(
  "   the same, for a 50-PDU transaction just received (its events in cache)",
  ["Zion: redact + canonical + lookup + verify", hot((i) => verifyServerSignature(events[i]!, utf8Scratch(redactedSignedText(events[i]!, rules)), "example.org", lookup).ok)],
  ["raw libsodium verify of the same bytes", hot((i) => verifyDetached(sigs[i]!, signedBytes[i]!, key.publicKey))],
);
console.log(`  ratio Zion / raw libsodium: ${(100 * sigHot.a / sigHot.b).toFixed(1)}% over the whole run, ${(100 * sigHot.pairMedian).toFixed(1)}% median of block pairs (target >= 90%)`);
const full = compare(
  "   whole receipt check (verifyEventsBatch of 1: format, signature, content hash, event id)",
  ["Zion: verifyEventsBatch", (i) => verifyEventsBatch([{ raw: events[i]!, rules }], lookup)[0]!.ok],
  ["raw libsodium verify of the same bytes", (i) => verifyDetached(sigs[i]!, signedBytes[i]!, key.publicKey)],
);
console.log(`  ratio whole check / raw libsodium: ${(100 * full.a / full.b).toFixed(1)}% over the whole run, ${(100 * full.pairMedian).toFixed(1)}% median of block pairs\n`);

// 2. canonical JSON
const cj = compare(
  "2. serialising the whole PDU object",
  ["canonicalJson", (i) => canonicalJson(events[i]!).length],
  ["JSON.stringify", (i) => JSON.stringify(events[i]!).length],
);
console.log(`  canonicalJson takes ${(cj.b / cj.a).toFixed(2)}x the time of JSON.stringify over the whole run, ${(1 / cj.pairMedian).toFixed(2)}x median of block pairs (target <= 3x)\n`);

// 3. hashes and ids
const ids = compare(
  "3. content hash + reference hash + event id",
  ["contentHash + referenceHash + eventId", (i) => { contentHash(events[i]!, rules); return eventIdFromReferenceHash(referenceHash(events[i]!, rules), rules); }],
  ["computeEventId alone", (i) => computeEventId(events[i]!, rules)],
);
console.log(`  ${Math.round(ids.a).toLocaleString("en-US")} events/s for all three over the whole run, ${Math.round(ids.aMedian).toLocaleString("en-US")} median of 50-event blocks (target >= 50,000/s per core)`);
