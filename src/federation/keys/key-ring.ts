/**
 * Remote servers' signing keys: https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys
 *
 * To find key K of server S usable at time T (T = now for requests, the event's origin_server_ts for events):
 * 1. Our own server: our current keys, and old_signing_keys for events before their expired_ts.
 * 2. The in-memory cache, then the KeyStore: a current key counts while usableUntil >= T (server-keys.ts
 *    step 6); an old key (old_verify_keys) only for events, while expired_ts >= T.
 * 3. Otherwise fetch S's keys through the fetch guard (fetch-guard.ts: one fetch per server and way in flight,
 *    shared by concurrent callers; no new fetch the same way within MIN_REFETCH_MS of the last, longer after
 *    failures):
 *    3.1 through each notary in trusted_key_servers (POST /_matrix/key/v2/query), checking the notary's signature
 *        with its configured verify_keys, or with keys fetched directly from the notary when none are configured;
 *    3.2 then directly (GET /_matrix/key/v2/server).
 *    Every answer is checked (server-keys.ts) and stored, all keys at once. Each request has its own timeout
 *    (KEY_FETCH_TIMEOUT_MS, not the federation client's 60 s): a key server that accepts connections and never
 *    answers must not hold a transaction, whose PDUs wait for the keys they cite, for longer than that.
 * 4. So a server whose fetch failed, or whose fresh answer lacked K, is not asked again for MIN_REFETCH_MS (or its
 *    back-off); K is then looked up in what the last answer stored.
 */
import type { Clock } from "../../core/clock.js";
import type { SigningKey } from "../../core/crypto/index.js";
import type { VerifyKey } from "../../core/crypto/index.js";
import type { KeyId, ServerName } from "../../core/ids/index.js";
import { decodeBase64 } from "../../core/json/base64.js";
import { noMetrics, type Counter, type Metrics } from "../../core/metrics.js";
import type { KeyStore, ServerKeyRecord } from "../../storage/ports.js";
import { NO_TRACE, type Trace } from "../trace.js";
import { FetchGuard, MIN_REFETCH_MS, type FetchGuardOptions } from "./fetch-guard.js";
import { checkServerKeys, toRecords, usableUntil, type CheckedServerKeys } from "./server-keys.js";

export { MIN_REFETCH_MS };
const MAX_MEMORY_KEYS = 100_000;
/** Step 3: the time one key request (direct or through a notary) may take, connection included (as Synapse's 10 s). */
export const KEY_FETCH_TIMEOUT_MS = 10_000;

/** The two key endpoints, as FederationClient offers them. Both return the parsed JSON body. */
export interface KeyFetchClient {
  fetchServerKeys(destination: ServerName, opts?: { trace?: Trace; timeoutMs?: number }): Promise<unknown>;
  queryKeysViaNotary(
    notary: ServerName,
    serverKeys: Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number }>>>>,
    opts?: { trace?: Trace; timeoutMs?: number },
  ): Promise<unknown>;
}

export interface TrustedKeyServer {
  readonly serverName: ServerName;
  /** key id -> unpadded base64 public key; when absent the notary's own keys are fetched from it directly. */
  readonly verifyKeys?: Readonly<Record<string, string>>;
}

export interface OwnKeys {
  readonly serverName: ServerName;
  readonly signingKeys: readonly SigningKey[];
  readonly oldVerifyKeys?: Readonly<Record<string, { key: string; expired_ts: number }>>;
}

export interface KeyRingOptions {
  readonly store: KeyStore;
  readonly client: KeyFetchClient;
  readonly clock: Clock;
  readonly own: OwnKeys;
  readonly trustedKeyServers?: readonly TrustedKeyServer[];
  /** The fetch guard's intervals and size (defaults in fetch-guard.ts). */
  readonly guard?: FetchGuardOptions;
  /** Counts key fetches by source ("direct" or "notary") and result ("ok" or "failed"). */
  readonly metrics?: Metrics;
  /** Step 3's per-request timeout (default KEY_FETCH_TIMEOUT_MS). */
  readonly fetchTimeoutMs?: number;
}

export type KeyLookupResult =
  | { readonly ok: true; readonly key: VerifyKey & { readonly usableUntil: number } }
  | { readonly ok: false; readonly reason: string };

export type FetchOutcome =
  | { readonly ok: true; readonly keys: CheckedServerKeys; readonly from: ServerName }
  | { readonly ok: false; readonly reason: string; /** The guard refused to start a fetch (step 4). */ readonly throttled?: { readonly lastOk: boolean } };

interface CachedKey {
  readonly publicKey: Uint8Array;
  readonly usableUntil: number;
  /** True for old_verify_keys: never for requests. */
  readonly old: boolean;
}

export class KeyRing {
  private readonly memory = new Map<string, CachedKey>();
  private readonly guard: FetchGuard<FetchOutcome>;
  private readonly fetches: Counter<"source" | "result">;

  constructor(private readonly opts: KeyRingOptions) {
    this.guard = new FetchGuard(opts.clock, opts.guard);
    this.fetches = (opts.metrics ?? noMetrics).counter({ name: "zion_federation_key_fetches", help: "Remote signing-key fetches, by source (direct or notary) and result (ok or failed)", labels: ["source", "result"] });
  }

  /** (server, way) pairs the fetch guard remembers (bounded: fetch-guard.ts step 3). */
  get trackedFetches(): number {
    return this.guard.tracked;
  }

  get ownServerName(): ServerName {
    return this.opts.own.serverName;
  }

  /** A current key of `server` usable for a request received now. */
  getKeyForRequest(server: ServerName, keyId: KeyId, trace: Trace = NO_TRACE): Promise<KeyLookupResult> {
    return this.getKey(server, keyId, this.opts.clock.now(), false, trace);
  }

  /**
   * A key usable for an event sent at `validAt` (old keys count while validAt <= expired_ts). `validAt` undefined:
   * any known key, for room versions whose rules say valid_until_ts "MUST be ignored" (v1-v4, `enforceKeyValidity`).
   */
  getKeyForEvent(server: ServerName, keyId: KeyId, validAt: number | undefined, trace: Trace = NO_TRACE): Promise<KeyLookupResult> {
    return this.getKey(server, keyId, validAt ?? -Infinity, true, trace);
  }

  /** Several keys at once (for batch event checks); unknown or unusable ids are absent. `validAt` as for getKeyForEvent. */
  async getKeysForEvents(server: ServerName, keyIds: readonly KeyId[], validAt: number | undefined): Promise<Map<KeyId, VerifyKey>> {
    const out = new Map<KeyId, VerifyKey>();
    for (const id of keyIds) {
      const r = await this.getKey(server, id, validAt ?? -Infinity, true, NO_TRACE);
      if (r.ok) out.set(id, r.key);
    }
    return out;
  }

  private fromCache(server: ServerName, keyId: KeyId, validAt: number, allowOld: boolean): CachedKey | undefined {
    const c = this.memory.get(`${server}|${keyId}`);
    if (c && c.usableUntil >= validAt && (allowOld || !c.old)) return c;
    return undefined;
  }

  private remember(r: ServerKeyRecord): void {
    if (this.memory.size >= MAX_MEMORY_KEYS) this.memory.clear(); // the database still has them
    this.memory.set(`${r.serverName}|${r.keyId}`, {
      publicKey: decodeBase64(r.publicKey), usableUntil: usableUntil(r), old: r.expiredTs !== null,
    });
  }

  private async getKey(server: ServerName, keyId: KeyId, validAt: number, allowOld: boolean, trace: Trace): Promise<KeyLookupResult> {
    // Step 1.
    if (server === this.opts.own.serverName) {
      const k = this.opts.own.signingKeys.find((s) => s.keyId === keyId);
      if (k) return { ok: true, key: { publicKey: k.publicKey, usableUntil: Number.MAX_SAFE_INTEGER } };
      const old = this.opts.own.oldVerifyKeys?.[keyId];
      if (old && allowOld && old.expired_ts >= validAt) return { ok: true, key: { publicKey: decodeBase64(old.key), validUntilTs: old.expired_ts, usableUntil: old.expired_ts } };
      return { ok: false, reason: `${keyId} is not a usable key of this server` };
    }
    // Step 2.
    let c = this.fromCache(server, keyId, validAt, allowOld);
    if (c) return { ok: true, key: { publicKey: c.publicKey, validUntilTs: c.usableUntil, usableUntil: c.usableUntil } };
    const stored = (await this.opts.store.getServerKeys(server, [keyId])).get(keyId);
    if (stored) {
      this.remember(stored);
      c = this.fromCache(server, keyId, validAt, allowOld);
      if (c) return { ok: true, key: { publicKey: c.publicKey, validUntilTs: c.usableUntil, usableUntil: c.usableUntil } };
    }
    // Steps 3 and 4: a refusal after a recent successful fetch means "look in what it stored".
    const f = await this.fetch(server, trace, undefined, [keyId]);
    if (!f.ok && !f.throttled?.lastOk && !this.memory.has(`${server}|${keyId}`)) return { ok: false, reason: `cannot fetch the keys of ${server}: ${f.reason}` };
    c = this.fromCache(server, keyId, validAt, allowOld);
    if (c) return { ok: true, key: { publicKey: c.publicKey, validUntilTs: c.usableUntil, usableUntil: c.usableUntil } };
    const known = this.memory.get(`${server}|${keyId}`);
    if (!known) return { ok: false, reason: `${server} has no key ${keyId}` };
    if (known.old && !allowOld) return { ok: false, reason: `${server}'s key ${keyId} is an old key, valid only for events` };
    return {
      ok: false,
      reason: `${server}'s key ${keyId} is valid until ${new Date(known.usableUntil).toISOString()}, before ${new Date(validAt).toISOString()}`,
    };
  }

  /**
   * Step 3, coalesced per server. Also what `zion debug keys` calls. `keyIds` are the keys wanted: a notary is asked
   * for them by name (see viaNotary); with none, a notary is asked for "all keys" (an empty key map).
   */
  fetch(server: ServerName, trace: Trace = NO_TRACE, via?: readonly TrustedKeyServer[] | "direct", keyIds: readonly KeyId[] = []): Promise<FetchOutcome> {
    const way = via === undefined ? "" : via === "direct" ? "direct" : via.map((v) => v.serverName).join(",");
    const g = this.guard.run(server, way, () => this.fetchNow(server, trace, via, keyIds), (r) => (r.ok ? { ok: true } : { ok: false, reason: r.reason }));
    if (g.started) return g.result;
    const until = new Date(g.until).toISOString();
    const reason = g.lastOk
      ? `the keys of ${server} were fetched recently; not fetched again before ${until}`
      : `the last fetch of the keys of ${server} failed (${g.lastReason}); not retried before ${until}`;
    trace.step({ check: "keys.fetch", ok: g.lastOk, ...(g.lastOk ? {} : { warn: true }), detail: reason });
    return Promise.resolve({ ok: false, reason, throttled: { lastOk: g.lastOk } });
  }

  private async fetchNow(server: ServerName, trace: Trace, via: readonly TrustedKeyServer[] | "direct" | undefined, keyIds: readonly KeyId[]): Promise<FetchOutcome> {
    const reasons: string[] = [];
    const notaries = via === "direct" ? [] : (via ?? this.opts.trustedKeyServers ?? []);
    // Step 3.1.
    for (const n of notaries) {
      if (n.serverName === server) continue;
      const r = await this.viaNotary(server, n, trace, keyIds);
      if (r.ok) return r;
      reasons.push(r.reason);
    }
    // Step 3.2.
    if (via === undefined || via === "direct") {
      const r = await this.direct(server, trace);
      if (r.ok) return r;
      reasons.push(r.reason);
    }
    return { ok: false, reason: reasons.join("; ") || "no way to fetch keys" };
  }

  private async store(keys: CheckedServerKeys, from: ServerName): Promise<void> {
    const records = toRecords(keys, this.opts.clock.now(), from);
    await this.opts.store.upsertServerKeys(records);
    for (const r of records) this.remember(r);
  }

  private async direct(server: ServerName, trace: Trace): Promise<FetchOutcome> {
    const r = await this.directUncounted(server, trace);
    this.fetches.inc({ source: "direct", result: r.ok ? "ok" : "failed" });
    return r;
  }

  private async directUncounted(server: ServerName, trace: Trace): Promise<FetchOutcome> {
    let raw: unknown;
    try {
      raw = await this.opts.client.fetchServerKeys(server, { trace, timeoutMs: this.opts.fetchTimeoutMs ?? KEY_FETCH_TIMEOUT_MS });
    } catch (e) {
      const reason = `GET /_matrix/key/v2/server from ${server} failed: ${(e as Error).message}`;
      trace.step({ check: "keys.fetch", ok: false, detail: reason, fix: `Make https://<federation address of ${server}>/_matrix/key/v2/server answer with the server's signed keys.` });
      return { ok: false, reason };
    }
    const v = checkServerKeys(raw, server);
    if (!v.ok) {
      trace.step({ check: v.check, ok: false, detail: `keys served by ${server}: ${v.reason}` });
      return { ok: false, reason: `keys served by ${server}: ${v.reason}` };
    }
    trace.step(this.describe(v.keys, `directly from ${server}`));
    await this.store(v.keys, server);
    return { ok: true, keys: v.keys, from: server };
  }

  private async notaryKeys(n: TrustedKeyServer, trace: Trace): Promise<Map<string, Uint8Array> | string> {
    if (n.verifyKeys && Object.keys(n.verifyKeys).length > 0) {
      const m = new Map<string, Uint8Array>();
      for (const [id, b64] of Object.entries(n.verifyKeys)) m.set(id, decodeBase64(b64));
      return m;
    }
    // No configured keys: trust the notary's own current keys, fetched directly from it.
    const all = await this.opts.store.getAllServerKeys(n.serverName);
    const now = this.opts.clock.now();
    let usable = all.filter((r) => r.expiredTs === null && usableUntil(r) >= now);
    if (usable.length === 0) {
      const d = await this.fetch(n.serverName, trace, "direct");
      if (!d.ok) return d.reason;
      usable = toRecords(d.keys, now, n.serverName).filter((r) => r.expiredTs === null);
    }
    return new Map(usable.map((r) => [r.keyId as string, decodeBase64(r.publicKey)]));
  }

  private async viaNotary(server: ServerName, n: TrustedKeyServer, trace: Trace, keyIds: readonly KeyId[]): Promise<FetchOutcome> {
    const r = await this.viaNotaryUncounted(server, n, trace, keyIds);
    this.fetches.inc({ source: "notary", result: r.ok ? "ok" : "failed" });
    return r;
  }

  private async viaNotaryUncounted(server: ServerName, n: TrustedKeyServer, trace: Trace, keyIds: readonly KeyId[]): Promise<FetchOutcome> {
    const nk = await this.notaryKeys(n, trace);
    if (typeof nk === "string") {
      const reason = `cannot get the notary ${n.serverName}'s own keys: ${nk}`;
      trace.step({ check: "keys.fetch", ok: false, detail: reason });
      return { ok: false, reason };
    }
    let raw: unknown;
    try {
      // Name the keys wanted with minimum_valid_until_ts (the spec's MUST): Synapse answers an empty key map from its
      // cache only, so without it a first lookup through a Synapse notary finds nothing (docs/interop.md).
      const now = this.opts.clock.now();
      const criteria = Object.fromEntries(keyIds.map((id) => [id, { minimum_valid_until_ts: now }]));
      raw = await this.opts.client.queryKeysViaNotary(n.serverName, { [server]: criteria }, { trace, timeoutMs: this.opts.fetchTimeoutMs ?? KEY_FETCH_TIMEOUT_MS });
    } catch (e) {
      const reason = `POST /_matrix/key/v2/query to ${n.serverName} failed: ${(e as Error).message}`;
      trace.step({ check: "keys.fetch", ok: false, detail: reason });
      return { ok: false, reason };
    }
    const list = (raw as { server_keys?: unknown })?.server_keys;
    if (!Array.isArray(list)) {
      const reason = `notary ${n.serverName} answered without a server_keys list`;
      trace.step({ check: "keys.fetch", ok: false, detail: reason });
      return { ok: false, reason };
    }
    let best: CheckedServerKeys | undefined;
    const problems: string[] = [];
    for (const entry of list) {
      if ((entry as { server_name?: unknown })?.server_name !== server) continue;
      const v = checkServerKeys(entry, server, { notary: n.serverName, keys: nk });
      if (!v.ok) {
        problems.push(v.reason);
        trace.step({ check: v.check, ok: false, detail: `keys of ${server} from notary ${n.serverName}: ${v.reason}` });
        continue;
      }
      await this.store(v.keys, n.serverName);
      if (!best || v.keys.validUntilTs > best.validUntilTs) best = v.keys;
    }
    if (!best) return { ok: false, reason: `notary ${n.serverName} gave no valid keys for ${server}${problems.length ? `: ${problems.join("; ")}` : ""}` };
    trace.step(this.describe(best, `through notary ${n.serverName}`));
    return { ok: true, keys: best, from: n.serverName };
  }

  private describe(k: CheckedServerKeys, how: string) {
    const now = this.opts.clock.now();
    const past = k.validUntilTs < now;
    return {
      check: past ? "keys.valid-until" : "keys.signature",
      ok: true,
      ...(past ? { warn: true, fix: "Serve a valid_until_ts in the future (Zion uses key_refresh_interval)." } : {}),
      detail: `verified ${k.verifyKeys.map((x) => x.keyId).join(", ")} of ${k.serverName} ${how}, valid until ${new Date(k.validUntilTs).toISOString()}${past ? " (in the past)" : ""}`,
      data: { serverName: k.serverName, validUntilTs: k.validUntilTs, verifyKeys: k.verifyKeys.map((x) => x.keyId), oldVerifyKeys: k.oldVerifyKeys.map((x) => x.keyId) },
    };
  }

  /** Cached key objects of `server` (for notary answers). */
  async cachedResponses(server: ServerName): Promise<readonly ServerKeyRecord[]> {
    return this.opts.store.getAllServerKeys(server);
  }
}
