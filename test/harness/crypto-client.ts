/**
 * matrix-js-sdk clients with the SDK's Rust crypto (initRustCrypto: @matrix-org/matrix-sdk-crypto-wasm) for tests
 * against one or more homeservers on loopback: register or log in a device, create the client with its own stores
 * and HTTP agent, start it, wait for a decrypted event, and stop it so that the test process can exit at once.
 *
 *   const clients = new CryptoClients();
 *   after(() => clients.stopAll());
 *   const alice = await clients.start(await registerUser(zion.clientUrl!, "alice", "pw"));
 *   const roomId = await createEncryptedRoom(alice.client, [bobId]);
 *   const event = await waitForDecryptedEvent(bob.client, roomId, (c) => c["body"] === "hello");
 *
 * Stores: the sync store is a MemoryStore, the crypto store the OlmMachine's in-memory one (`useIndexedDB: false`):
 * in Node the Rust crypto has no other store (its persistent one is IndexedDB), so a device lives as long as its
 * client; a "new device" is a new login.
 *
 * Why a stopped client used to keep Node alive for 60-110 s: the SDK's per-request timers, which
 * `./sdk-quiet.js` (imported here) unrefs, see there; it also quiets the SDK's logs. The rest is what `stop()` does: `stopClient()` (stops sync and the crypto backend, which closes the OlmMachine and
 * frees its Rust objects), a wait for the crypto's requests still in flight (stopClient aborts only /sync,
 * and the crypto retries a request whose connection failed, for up to 30 s), refusing any later request as aborted,
 * the store's `destroy()`, and destroying the client's own undici Agent (its keep-alive sockets to the homeserver).
 */
import { setTimeout as delay } from "node:timers/promises";
import { Agent, fetch as undiciFetch } from "undici";
import { LoggerLevel, Tracing } from "@matrix-org/matrix-sdk-crypto-wasm";
import {
  ClientEvent,
  MatrixEventEvent,
  MemoryStore,
  SyncState,
  createClient,
  type ICreateClientOpts,
  type MatrixClient,
  type MatrixEvent,
} from "matrix-js-sdk";
import { CryptoEvent, VerificationPhase, VerifierEvent, type CryptoApi, type ShowSasCallbacks, type VerificationRequest } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { UIAuthCallback } from "matrix-js-sdk/lib/interactive-auth.js";

import { LOG_LEVEL, sdkLogger } from "./sdk-quiet.js";

export { unrefSdkRequestTimeouts } from "./sdk-quiet.js";


const generous = { per_second: 1000, burst_count: 1000 };
/**
 * homeserver.yaml keys for a test whose clients register, log in, send and join freely: open registration and
 * rate limits far above what a test does (for startTestServer's `config`).
 */
export function openClientTestConfig(): Record<string, unknown> {
  return {
    enable_registration: true,
    enable_registration_without_verification: true,
    rc_login: { address: generous, account: generous, failed_attempts: generous },
    rc_registration: generous,
    rc_message: generous,
    rc_joins: { local: generous },
    rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
  };
}

export interface DeviceCredentials {
  readonly baseUrl: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly accessToken: string;
  readonly password: string;
}

/** Registers `username` (m.login.dummy, as the homeserver's open registration offers) and returns its first device. */
export async function registerUser(baseUrl: string, username: string, password: string): Promise<DeviceCredentials> {
  const anon = createClient({ baseUrl, logger: sdkLogger(`register ${username}`) });
  const session = await anon.registerRequest({ username, password }).then(
    () => undefined,
    (e: { data?: { session?: string } }) => e.data?.session,
  );
  const r = await anon.registerRequest({ username, password, auth: { type: "m.login.dummy", ...(session ? { session } : {}) } });
  return { baseUrl, userId: r.user_id, deviceId: r.device_id!, accessToken: r.access_token!, password };
}

/** Logs in again with the password: a new device of the same user. */
export async function loginNewDevice(baseUrl: string, userId: string, password: string): Promise<DeviceCredentials> {
  const anon = createClient({ baseUrl, logger: sdkLogger(`login ${userId}`) });
  const r = await anon.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password });
  return { baseUrl, userId: r.user_id, deviceId: r.device_id, accessToken: r.access_token, password };
}

/** A started (or at least crypto-initialised) client and how to stop it. */
export interface CryptoClient {
  readonly client: MatrixClient;
  readonly crypto: CryptoApi;
  readonly creds: DeviceCredentials;
  /** stopClient, store destroyed, HTTP agent closed; idempotent. */
  stop(): Promise<void>;
  /**
   * Resolves once no /keys/query of this client has been in flight for `quietMs`. The Rust crypto drops its private
   * cross-signing keys when a /keys/query answer shows a different master key of its own user, so an answer
   * requested before a reset of cross-signing but processed after it loses the new keys: a test that resets
   * cross-signing, or imports keys, right after a device-list change waits for this first, as a person would.
   */
  keysQueriesSettled(quietMs?: number): Promise<void>;
}

export interface CryptoClientOptions {
  /** Run the client's /sync loop and wait for its first sync (default true). */
  readonly sync?: boolean;
  /** Passed to createClient (e.g. getSecretStorageKey for secret storage). */
  readonly cryptoCallbacks?: ICreateClientOpts["cryptoCallbacks"];
  /** startClient's lazyLoadMembers, as Element runs it (default false): members then come from /members?at=. */
  readonly lazyLoadMembers?: boolean;
}

/** Creates the client for `creds` with Rust crypto (in-memory crypto store), starts it unless `sync: false`. */
export async function createCryptoClient(creds: DeviceCredentials, opts: CryptoClientOptions = {}): Promise<CryptoClient> {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  let closed = false;
  // After stop, every request fails as aborted: the SDK retries a failed connection (the crypto's outgoing requests
  // for up to 30 s, on timers that hold Node open) but never an abort.
  const inFlight = new Set<Promise<unknown>>();
  const keysQueries = { inFlight: 0, lastActivity: 0 };
  const fetchFn = ((input: string | URL, init?: RequestInit) => {
    if (closed) return Promise.reject(new DOMException("the client was stopped", "AbortError"));
    const p = undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never);
    const settled = p.then(() => undefined, () => undefined);
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    if (String(input).includes("/keys/query")) {
      keysQueries.inFlight++;
      keysQueries.lastActivity = Date.now();
      void settled.then(() => {
        keysQueries.inFlight--;
        keysQueries.lastActivity = Date.now();
      });
    }
    return p;
  }) as unknown as typeof globalThis.fetch;
  const keysQueriesSettled = async (quietMs = 750): Promise<void> => {
    for (;;) {
      const quietFor = Date.now() - keysQueries.lastActivity;
      if (keysQueries.inFlight === 0 && quietFor >= quietMs) return;
      await delay(keysQueries.inFlight === 0 ? quietMs - quietFor : 50);
    }
  };
  const store = new MemoryStore();
  const client = createClient({
    baseUrl: creds.baseUrl,
    userId: creds.userId,
    deviceId: creds.deviceId,
    accessToken: creds.accessToken,
    store,
    fetchFn,
    logger: sdkLogger(`${creds.userId}/${creds.deviceId}`),
    ...(opts.cryptoCallbacks ? { cryptoCallbacks: opts.cryptoCallbacks } : {}),
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      closed = true;
      client.stopClient();
      // stopClient aborts only the /sync request. The crypto's requests in flight are let finish (the server is
      // still up) rather than aborted: an abort rejects promises inside the SDK that nobody awaits, an unhandled
      // rejection that fails whichever test runs then. Retries after this fail at once as aborted (fetchFn).
      await Promise.race([Promise.all([...inFlight]), delay(10_000)]);
      await store.destroy();
      await delay(0);
      await agent.destroy();
    })());
  try {
    await client.initRustCrypto({ useIndexedDB: false });
    quietRustTracing();
    if (opts.sync !== false) await startAndWaitForSync(client, 20_000, opts.lazyLoadMembers === true);
  } catch (e) {
    await stop();
    throw e;
  }
  return { client, crypto: client.getCrypto()!, creds, stop, keysQueriesSettled };
}

/** initRustCrypto turns the Rust crypto's tracing on at Debug; lower it to what ZION_SDK_LOG asks. */
function quietRustTracing(): void {
  const level = LOG_LEVEL === "trace" ? LoggerLevel.Trace : LOG_LEVEL === "debug" ? LoggerLevel.Debug : LOG_LEVEL === "info" ? LoggerLevel.Info : LOG_LEVEL === "warn" ? LoggerLevel.Warn : LoggerLevel.Error;
  const tracing = new Tracing(level);
  tracing.minLevel = level;
}

/** Starts the /sync loop and resolves at the first PREPARED or SYNCING state (rejects after `ms`). */
export async function startAndWaitForSync(client: MatrixClient, ms = 20_000, lazyLoadMembers = false): Promise<void> {
  const ready = waitFor<void>(`the first sync of ${client.getUserId()}`, (done) => {
    const f = (state: SyncState) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) done();
    };
    client.on(ClientEvent.Sync, f);
    return () => client.off(ClientEvent.Sync, f);
  }, ms);
  await client.startClient({ initialSyncLimit: 20, lazyLoadMembers });
  await ready;
}

/** Every client a test made, stopped together in `after`. */
export class CryptoClients {
  private readonly all: CryptoClient[] = [];
  async start(creds: DeviceCredentials, opts: CryptoClientOptions = {}): Promise<CryptoClient> {
    const c = await createCryptoClient(creds, opts);
    this.all.push(c);
    return c;
  }
  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((c) => c.stop()));
  }
}

/** Resolves with what `subscribe` reports first, or rejects naming `what` after `ms`. */
export function waitFor<T>(what: string | (() => string), subscribe: (done: (v: T) => void) => () => void, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    let settled = false;
    const t = setTimeout(() => {
      settled = true;
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`));
    }, ms);
    off = subscribe((v) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      // subscribe may call done before it returns its unsubscriber
      queueMicrotask(() => off());
      resolve(v);
    });
  });
}

/** The content of an `m.room.encryption` event with Megolm, as clients send it. */
export const MEGOLM_ENCRYPTION = { algorithm: "m.megolm.v1.aes-sha2" } as const;

/**
 * Creates a private room encrypted from its creation (m.room.encryption in initial_state), inviting `invite`; waits
 * until the creator's client has seen the room as encrypted through its sync.
 */
export async function createEncryptedRoom(client: MatrixClient, invite: readonly string[] = []): Promise<string> {
  const { room_id: roomId } = await client.createRoom({
    preset: "private_chat" as never,
    invite: [...invite],
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { ...MEGOLM_ENCRYPTION } }],
  });
  await waitUntil(`${roomId} encrypted at ${client.getUserId()}`, async () => (await client.getCrypto()?.isEncryptionEnabledInRoom(roomId)) === true);
  return roomId;
}

/** Polls `check` every 50 ms until it holds (rejects naming `what` after `ms`). */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(50);
  }
}

/**
 * Waits until an event of `roomId` that arrived encrypted (`m.room.encrypted` on the wire) is decrypted to clear
 * content matching `match`, looking at the live timeline first. A decryption failure is not the end (the key may
 * come later, by to-device or from backup); it is named if the wait times out.
 */
export function waitForDecryptedEvent(client: MatrixClient, roomId: string, match: (content: Record<string, unknown>, event: MatrixEvent) => boolean, ms = 20_000): Promise<MatrixEvent> {
  let lastFailure = "";
  const ok = (e: MatrixEvent): boolean => {
    if (e.getRoomId() !== roomId || !e.isEncrypted() || e.isBeingDecrypted()) return false;
    if (e.isDecryptionFailure()) {
      lastFailure = `${e.getId()}: ${e.decryptionFailureReason ?? "decryption failed"}`;
      return false;
    }
    return match(e.getContent(), e);
  };
  return waitFor<MatrixEvent>(() => `a decrypted event in ${roomId} at ${client.getUserId()}${lastFailure ? ` (last failure ${lastFailure})` : ""}`, (done) => {
    const onDecrypted = (e: MatrixEvent) => {
      if (ok(e)) done(e);
    };
    client.on(MatrixEventEvent.Decrypted, onDecrypted);
    const found = client.getRoom(roomId)?.getLiveTimeline().getEvents().find(ok);
    if (found) done(found);
    return () => client.off(MatrixEventEvent.Decrypted, onDecrypted);
  }, ms);
}

/**
 * A `authUploadDeviceSigningKeys` callback for bootstrapCrossSigning that answers the server's UIA with the
 * password: the first call without auth (a first upload needs none), then m.login.password with the session the
 * 401 gave. `seen` collects each step (`"none"`, `"password"`) so a test can assert which were needed.
 */
export function passwordUia(creds: DeviceCredentials, seen: string[] = []): UIAuthCallback<void> {
  return async (makeRequest) => {
    seen.push("none");
    const challenge = await makeRequest(null).then(
      () => undefined,
      (e: { httpStatus?: number; data?: { session?: string } }) => {
        if (e.httpStatus !== 401) throw e;
        return e.data ?? {};
      },
    );
    if (challenge === undefined) return;
    seen.push("password");
    await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: creds.userId }, password: creds.password, ...(challenge.session ? { session: challenge.session } : {}) } as never);
  };
}

/**
 * Interactive SAS verification (m.sas.v1) over to-device messages, as two people comparing emoji would do it:
 * `initiator` asks to verify `responder`'s device, the responder accepts, both are shown the SAS, the emoji are
 * compared (a mismatch throws) and both confirm. Resolves with the emoji once both sides are done.
 */
export async function verifyBySas(initiator: CryptoClient, responder: CryptoClient, ms = 30_000): Promise<string[]> {
  const incoming = waitFor<VerificationRequest>(`a verification request at ${responder.creds.userId}/${responder.creds.deviceId}`, (done) => {
    const f = (r: VerificationRequest) => done(r);
    responder.client.on(CryptoEvent.VerificationRequestReceived, f);
    return () => responder.client.off(CryptoEvent.VerificationRequestReceived, f);
  }, ms);
  const mine = await initiator.crypto.requestDeviceVerification(responder.creds.userId, responder.creds.deviceId);
  const theirs = await incoming;
  await theirs.accept();
  await waitUntil("the verification request ready", () => mine.phase === VerificationPhase.Ready, ms);
  const verifierI = await mine.startVerification("m.sas.v1");
  const shown = (v: typeof verifierI, who: string) =>
    waitFor<ShowSasCallbacks>(`the SAS shown at ${who}`, (done) => {
      const existing = v.getShowSasCallbacks();
      if (existing) done(existing);
      v.on(VerifierEvent.ShowSas, done);
      return () => v.off(VerifierEvent.ShowSas, done);
    }, ms);
  const sasI = shown(verifierI, "the initiator");
  const doneI = verifierI.verify();
  await waitUntil("the responder's verifier", () => theirs.verifier !== undefined, ms);
  const verifierR = theirs.verifier!;
  const sasR = shown(verifierR, "the responder");
  const doneR = verifierR.verify();
  const [i, r] = await Promise.all([sasI, sasR]);
  const emoji = (s: ShowSasCallbacks) => (s.sas.emoji ?? []).map(([e, name]) => `${e} ${name}`);
  if (JSON.stringify(emoji(i)) !== JSON.stringify(emoji(r)) || emoji(i).length !== 7) {
    i.mismatch();
    r.mismatch();
    throw new Error(`the two sides were shown different SAS: ${emoji(i).join(",")} / ${emoji(r).join(",")}`);
  }
  await Promise.all([i.confirm(), r.confirm()]);
  await Promise.all([doneI, doneR]);
  await waitUntil("both requests done", () => mine.phase === VerificationPhase.Done && theirs.phase === VerificationPhase.Done, ms);
  return emoji(i);
}

/**
 * Secret-storage keys as a user holding a recovery key would supply them: `callbacks` goes to createCryptoClient's
 * `cryptoCallbacks`; a key the client creates (bootstrapSecretStorage) is remembered, and a client given the same
 * `SecretStorageKeys` (another device of the user, who typed the recovery key there) is answered with it.
 */
export class SecretStorageKeys {
  readonly keys = new Map<string, Uint8Array>();
  readonly callbacks: NonNullable<ICreateClientOpts["cryptoCallbacks"]> = {
    getSecretStorageKey: async ({ keys }) => {
      for (const id of Object.keys(keys)) {
        const key = this.keys.get(id);
        if (key) return [id, key];
      }
      return null;
    },
    cacheSecretStorageKey: (keyId, _info, key) => {
      this.keys.set(keyId, key);
    },
  };
}
