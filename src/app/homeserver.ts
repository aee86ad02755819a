/**
 * The composition root: from a validated config to a running server.
 *
 * Start-up order, so that every problem is found before any port is bound:
 * 1. listeners: at least one of type http;
 * 2. the signing key file (readable, well-formed);
 * 3. the TLS certificate and key, when a listener uses TLS (readable, matching); the web client bundle when
 *    web_client.enabled (built by `npm run build`);
 * 4. the database, opened and migrated;
 * 5. bind every listener address (a failure closes what was opened);
 * 6. pid_file.
 * With enable_metrics, one prom-client registry (metrics.ts) is handed to the HTTP apps, federation and a timed
 * storage wrapper, and `type: metrics` listeners are bound after the http ones.
 * stop() is graceful: stop accepting, finish in-flight requests, close the database.
 */
import { FederationRateLimiter } from "../api/federation/rate-limit.js";
import { DEFAULT_DUMMY_EVENT_DELAY_MS, EduRegistry, stateResolutionMetric, RoomReads, RoomService, RoomUpgrader, SpaceHierarchy, TransactionGate } from "../rooms/index.js";
import type { Server as HttpsServer } from "node:https";
import type { Server } from "node:http";
import type { SecureContextOptions } from "node:tls";
import type { HomeserverConfig, ListenerConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import type { SigningKey } from "../core/crypto/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { Storage } from "../storage/ports.js";
import { allRoutes, inboundPduMetrics, RoomDeletions, localRoomDirectory, metricsRoutes, storedNonceStore, storedUiaSessions, routesFor, scryptHasher, type ApiDeps, type PasswordHasher, type ProfileChangeListener, type DeviceListAudience } from "../api/index.js";
import { createHttpApp, createRateLimits, whitelistPolicy, type AccessTokenAuth, type FederationAuth, type HttpApp, type Route } from "../api/http/index.js";
import { MatrixError } from "../core/errors.js";
import { noMetrics } from "../core/metrics.js";
import { countPersistedEvents, createMetricsRegistry, httpMetrics, timedStorage } from "./metrics.js";
import { accountSettings, rateLimitConfig, turnSettings } from "./accounts.js";
import { StartupError, errnoCode } from "./errors.js";
import { createFederation } from "./federation.js";
import { createLogger, type Logger } from "./logger.js";
import { createMediaRepository, createUrlPreviewer } from "./media.js";
import { federationMediaSource, type MediaRepository } from "../media/index.js";
import { removePidFile, writePidFile } from "./pid-file.js";
import { readSigningKeys } from "./signing-key.js";
import { openConfiguredStorage } from "./storage.js";
import { loadTlsOptions } from "./tls.js";
import { prepareCertificates, type Certificates } from "./certificates.js";
import { certificateNameWarning, testerUrls } from "./startup-checks.js";
import { zionVersion } from "./version.js";
import { FederationSender, RoomDestinations } from "../federation/sender/index.js";
import { webClientServerOptions } from "./web-client.js";
import { Notifier, SlidingSyncService, SyncService, TypingStream, type NotifierTimers } from "../sync/index.js";
import { PresenceTracker, registerPresenceTypingReceiptEdus } from "../sync/index.js";
import { PushSender } from "../sync/index.js";
import { policyFetch } from "../federation/outbound/policy-fetch.js";
import type { UserId } from "../core/ids/index.js";
import { deviceListMembershipBetween, wireE2eeFederation } from "./e2ee-federation.js";

/** Real timers for the notifier's timeouts and typing expiry (cleared when they are no longer needed). */
const systemTimers: NotifierTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

import { systemClock } from "./clock.js";
export { systemClock };

export interface StartOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** The inbound X-Matrix verifier (default: refuse every signed request with 401). */
  readonly federationAuth?: FederationAuth;
  /** Use this storage instead of opening the configured database (it is closed at stop). */
  readonly storage?: Storage;
  /** Extra routes (with their deps merged into the handlers' deps), e.g. the federation tester's. */
  readonly extraRoutes?: readonly Route<never>[];
  readonly extraDeps?: Readonly<Record<string, unknown>>;
  /** How long stop() waits for in-flight requests before cutting connections (default 30 s). */
  readonly graceMs?: number;
  /** How long a room over `dummy_events_threshold` waits for a local event before a dummy event merges it (default 30 s). */
  readonly dummyEventDelayMs?: number;
  /** The time one remote signing-key request may take (default 10 s, KEY_FETCH_TIMEOUT_MS; tests shorten it). */
  readonly keyFetchTimeoutMs?: number;
  /** Password hashing (default: scrypt with N = 2^15; tests may pass a cheaper one). */
  readonly passwordHasher?: PasswordHasher;
  /** Told of local profile changes (the rooms layer, later; tests). Default: nothing happens. */
  readonly profileChanges?: ProfileChangeListener;
  /** Who shares a room with whom, for /keys/changes (the rooms layer, later). Default: nobody. */
  readonly deviceListAudience?: DeviceListAudience;
}

export interface ListenerInfo {
  /** Index in the config's listeners list. */
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly resources: readonly string[];
}

export interface Homeserver {
  readonly config: HomeserverConfig;
  readonly storage: Storage;
  /** The media repository (quarantine and deletion for the admin API and CLI). */
  readonly media: MediaRepository;
  readonly logger: Logger;
  readonly signingKeys: readonly SigningKey[];
  readonly listeners: readonly ListenerInfo[];
  /** The room pipeline (tests drive rooms through it until every room endpoint exists). */
  readonly rooms: RoomService;
  /** The /sync notifier (tests count waiting requests). */
  readonly notifier: Notifier;
  /** Push notifications to push gateways (tests wait until it is idle). */
  readonly pushSender: PushSender;
  /** Problems found once listening that do not stop the server but will stop federation (see startup-checks.ts). */
  readonly warnings: readonly string[];
  /** Base URL (scheme://host:port) of the first bound address serving a resource, e.g. "client" or "federation". */
  baseUrl(resource: string): string | undefined;
  /** The https servers, for swapping certificates with `setSecureContext` (see tls.ts). */
  tlsServers(): HttpsServer[];
  /** Requests being answered right now, across listeners. */
  inFlight(): number;
  /** Graceful stop; resolves when the database is closed. Idempotent. */
  stop(): Promise<void>;
}

/** m.server for /.well-known/matrix/server: explicit, else the TLS federation listener, else public_baseurl's host on 443. */
export function wellKnownServerValue(config: HomeserverConfig): string | undefined {
  if (!config.serve_server_wellknown) return undefined;
  if (config.well_known_server) return config.well_known_server;
  const sn = config.server_name;
  const host = sn.startsWith("[") ? sn.slice(0, sn.indexOf("]") + 1) : sn.split(":")[0]!;
  const fed = config.listeners.find((l) => l.type === "http" && l.tls && l.resources.some((r) => r.names.includes("federation")));
  if (fed && fed.port !== 0) return `${host}:${fed.port}`;
  const u = new URL(config.public_baseurl);
  return `${u.hostname}:${u.port || "443"}`;
}

/** A push gateway's answer is a small JSON object; it has 10 s to give it. */
const PUSH_GATEWAY_MAX_ANSWER_BYTES = 64 * 1024;
const PUSH_GATEWAY_TIMEOUT_MS = 10_000;

const SERVED_RESOURCES = new Set(["client", "federation", "keys", "health", "metrics", "media"]);

function hostForUrl(host: string): string {
  if (host === "::" || host === "0.0.0.0") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startHomeserver(config: HomeserverConfig, options: StartOptions = {}): Promise<Homeserver> {
  const logger = options.logger ?? createLogger(config.log_level);
  const clock = options.clock ?? systemClock;

  // Step 1
  const httpListeners = config.listeners.map((l, index) => ({ l, index })).filter(({ l }) => l.type === "http");
  if (httpListeners.length === 0) throw new StartupError(["listeners: no listener of type http is configured, so the server would serve nothing"]);
  for (const { l, index } of httpListeners) {
    for (const name of new Set(l.resources.flatMap((r) => r.names))) {
      if (!SERVED_RESOURCES.has(name)) logger.warn({ listener: index, resource: name }, `listeners[${index}]: resource "${name}" is not served by Zion yet`);
      if (name === "metrics" && !config.enable_metrics) logger.warn({ listener: index, resource: name }, `listeners[${index}]: resource "metrics" is not served because enable_metrics is false`);
    }
  }
  // Synapse's rule: a metrics listener or resource serves only with enable_metrics (docs/metrics.md).
  const metricsListeners = config.enable_metrics ? config.listeners.map((l, index) => ({ l, index })).filter(({ l }) => l.type === "metrics") : [];
  const metricsRegistry = config.enable_metrics ? createMetricsRegistry(config.server_name) : undefined;
  const metrics = metricsRegistry ?? noMetrics;
  // Metrics recorded only when their work first happens, registered now so that a scrape lists them from the start.
  inboundPduMetrics(metrics);
  stateResolutionMetric(metrics);

  // Step 2
  const signingKeys = readSigningKeys(config.signing_key_path);
  const accounts = accountSettings(config); // reads registration_shared_secret_path
  const turn = turnSettings(config); // reads turn_shared_secret_path

  // Step 3
  let tls: SecureContextOptions | undefined;
  let certificates: Certificates | undefined; // live reload and ACME: see certificates.ts
  if (httpListeners.some(({ l }) => l.tls)) {
    if (!config.acme?.enabled && (!config.tls_certificate_path || !config.tls_private_key_path)) {
      throw new StartupError(["a TLS listener needs tls_certificate_path and tls_private_key_path"]);
    }
    if (!config.acme?.enabled) loadTlsOptions({ certificatePath: config.tls_certificate_path!, privateKeyPath: config.tls_private_key_path! });
    certificates = await prepareCertificates(config, { logger, clock });
    tls = certificates.tlsOptions();
  }

  // The web client bundle (web_client.enabled) and the root redirect; a missing bundle stops here, before binding.
  const webClient = webClientServerOptions(config);

  // Step 4
  const openedStorage = options.storage ?? (await openConfiguredStorage(config.database));
  const storage = metricsRegistry ? countPersistedEvents(timedStorage(openedStorage, metricsRegistry), metricsRegistry, config.server_name) : openedStorage;

  // Federation (app/federation.ts): X-Matrix verification for x-matrix routes, remote keys, the notary, outbound client.
  let sender: FederationSender | undefined;
  const federation = createFederation(config, {
    keys: storage.keys, signingKeys, clock, metrics, onVerified: (origin) => sender?.wake(origin),
    ...(options.keyFetchTimeoutMs !== undefined ? { keyFetchTimeoutMs: options.keyFetchTimeoutMs } : {}),
  });
  // The outbound queue (src/federation/sender): every local event of a room with remote members is queued in its
  // persist transaction; the loops resume what a previous run left queued.
  sender = new FederationSender({
    serverName: config.server_name, storage, client: federation.client, clock, log: logger.child({ area: "federation-sender" }), metrics,
    backoff: {
      minRetryIntervalMs: config.federation.destination_min_retry_interval,
      retryMultiplier: config.federation.destination_retry_multiplier,
      maxRetryIntervalMs: config.federation.destination_max_retry_interval,
    },
  });
  const outbound = new RoomDestinations({ storage, sender });
  options = { ...options, federationAuth: options.federationAuth ?? federation.auth, extraDeps: { ...federation.deps, ...(options.extraDeps ?? {}) } };

  const media = createMediaRepository(config, storage, clock, federationMediaSource(federation.client, federation));
  const wellKnownClient: JsonObject = { "m.homeserver": { base_url: config.public_baseurl } };
  // Sync (src/sync): the notifier the room pipeline tells of every write, the in-memory typing stream.
  const notifier = new Notifier(systemTimers);
  // Long-polling requests waiting now (/sync, sliding sync), sampled every 5 s for the metrics endpoint.
  const waitingGauge = metrics.gauge({ name: "zion_sync_waiting_requests", help: "Long-polling sync requests waiting for something new" });
  const waitingSampler = metricsRegistry ? setInterval(() => waitingGauge.set({}, notifier.waiting()), 5_000).unref() : undefined;
  const typing = new TypingStream({ clock, timers: systemTimers, notifier });
  // The room pipeline (src/rooms): local events signed with the first signing key, notifying /sync.
  const rooms = new RoomService({
    serverName: config.server_name, signer: { serverName: config.server_name, key: signingKeys[0]! }, clock, storage, notifier, outbound,
    turn: () => new Promise((resolve) => setImmediate(resolve)),
    remote: { keys: federation.keyRing, client: federation.client, metrics },
    backfillLog: logger.child({ area: "backfill" }),
    partialJoins: config.federation.partial_joins,
    partialState: { log: logger.child({ area: "partial-state" }) },
    extremities: { threshold: config.dummy_events_threshold, delayMs: options.dummyEventDelayMs ?? DEFAULT_DUMMY_EVENT_DELAY_MS, timers: systemTimers },
  });
  // Inbound /send (src/rooms/transaction-gate.ts): once per (origin, txn id); EDU types without a handler are logged at debug.
  const inboundTxns = new TransactionGate(storage.transactions, () => clock.now());
  const edus = new EduRegistry((origin, type) => logger.debug({ origin, edu_type: type }, "EDU of a type Zion does not handle yet; dropped"));
  // Typing, receipts and presence over federation (src/sync/edus): inbound handlers, and the receipt and presence
  // stores local writers use, which queue local changes for the other servers.
  const ephemeralEdus = registerPresenceTypingReceiptEdus({
    serverName: config.server_name, edus, typing, storage, notifier, clock, timers: systemTimers, sender, roomServers: outbound,
    presenceEnabled: config.presence?.enabled ?? true, sendPresenceToFederation: config.send_presence_to_federation !== false,
    log: logger.child({ area: "federation-edus" }),
  });
  // End-to-end encryption across servers (app/e2ee-federation.ts): EDU handlers, and stores that report device changes.
  const e2eeFederation = wireE2eeFederation({ serverName: config.server_name, storage, sender, client: federation.client, notifier, edus, clock, logger });
  const roomReads = new RoomReads(storage);
  // The per-user stores the e2ee and account-data routes write through, wrapped so each write wakes the syncs
  // waiting for it (to-device: every recipient; account data: the owner).
  const toDevice: Storage["toDevice"] = {
    ...storage.toDevice,
    async send(sender, txnId, messages, nowTs) {
      const queued = await storage.toDevice.send(sender, txnId, messages, nowTs);
      if (queued) {
        const pos = await storage.toDevice.maxPosition();
        for (const u of new Set(messages.map((m) => m.userId))) notifier.notifyUser("toDevice", u, pos);
      }
      return queued;
    },
  };
  const accountData: Storage["accountData"] = {
    ...storage.accountData,
    async put(userId, roomId, type, content) {
      const pos = await storage.accountData.put(userId, roomId, type, content);
      notifier.notifyUser("accountData", userId, pos);
      return pos;
    },
  };
  // Push notifications (src/sync/push-sender.ts): each http pusher sends its user's stored push actions to its
  // gateway, POSTed under the outbound IP policy (ip_range_blacklist / ip_range_whitelist, as federation).
  const pushLog = logger.child({ area: "push" });
  const pushSender = new PushSender({
    storage, clock, timers: systemTimers,
    post: async (url, body) => {
      const r = await policyFetch(url, {
        dns: federation.dns, ipPolicy: federation.ipPolicy, method: "POST", body, purpose: "push",
        headers: { "content-type": "application/json" }, maxBytes: PUSH_GATEWAY_MAX_ANSWER_BYTES, timeoutMs: PUSH_GATEWAY_TIMEOUT_MS,
      });
      return { status: r.status, body: r.body };
    },
    log: (msg, fields) => pushLog.info(fields, msg),
  });
  rooms.pushActions?.onStored((users) => pushSender.stored(users));
  // Push rules written through the routes: the pipeline's push actions (rooms/push-actions.ts) read them afresh.
  const pushRules: Storage["pushRules"] = {
    ...storage.pushRules,
    async put(userId, rules) {
      const pos = await storage.pushRules.put(userId, rules);
      rooms.pushActions?.rulesChanged(userId);
      return pos;
    },
  };
  const syncStorage = { ...storage, receipts: ephemeralEdus.receipts, presence: ephemeralEdus.presence };
  // Local presence (src/sync/presence-tracker.ts): syncs' set_presence and PUT /presence, the offline timer.
  const presenceTracker = new PresenceTracker({ presence: ephemeralEdus.presence, rooms: storage.rooms, notifier, clock, timers: systemTimers, enabled: config.presence?.enabled ?? true });
  const syncService = new SyncService({ storage: syncStorage, reads: roomReads, notifier, typing, clock, presence: presenceTracker, presenceEnabled: config.presence?.enabled ?? true });
  const slidingSync = new SlidingSyncService({ storage: syncStorage, reads: roomReads, notifier, typing, clock, tokens: syncService, presence: presenceTracker });
  const deps: ApiDeps & Record<string, unknown> = {
    ...webClient.deps,
    ...(options.extraDeps ?? {}),
    identity: {
      serverName: config.server_name,
      signingKeys,
      oldVerifyKeys: config.old_signing_keys,
      keyRefreshIntervalMs: config.key_refresh_interval,
    },
    clock,
    version: zionVersion(),
    wellKnownServer: wellKnownServerValue(config),
    wellKnownClient,
    serverName: config.server_name,
    profiles: storage.users,
    roomRead: { events: storage.events, state: storage.state, rooms: storage.rooms },
    roomDirectory: localRoomDirectory({ serverName: config.server_name, roomClient: storage.roomClient, roomStore: storage.rooms, events: storage.events }),
    allowPublicRoomsOverFederation: config.allow_public_rooms_over_federation,
    users: e2eeFederation.users,
    accounts,
    passwords: options.passwordHasher ?? scryptHasher(),
    uia: storedUiaSessions(storage.uiaSessions, clock),
    reports: storage.reports,
    openIdTokens: storage.openIdTokens,
    pushers: storage.pushers,
    spaceHierarchy: new SpaceHierarchy({ rooms: storage.rooms, events: storage.events, roomClient: storage.roomClient }),
    rateLimits: createRateLimits(rateLimitConfig(config), clock),
    registrationNonces: storedNonceStore(storage.registrationNonces, clock),
    inboundTxns,
    edus,
    federationRateLimiter: new FederationRateLimiter(config.rc_federation, clock),
    roomUpgrades: new RoomUpgrader(rooms, storage, () => clock.now()),
    relations: storage.relations,
    admin: storage.admin,
    // The admin API's federation destinations read the sender's queue and reset its back-off.
    destinations: storage.destinations,
    outbound: storage.outbound,
    // Room deletions of the admin API's v2 (background, their statuses in memory).
    roomDeletions: new RoomDeletions(() => deps),
    e2ee: e2eeFederation.e2ee,
    deviceFederation: storage.deviceFederation,
    remoteE2ee: e2eeFederation.remoteE2ee,
    toDevice,
    accountData,
    filters: storage.filters,
    keyBackup: storage.keyBackup,
    turn,
    defaultRoomVersion: config.default_room_version,
    federationClient: federation.client,
    // A profile change sends a new member event into every joined room (src/rooms), which /sync then delivers.
    profileChanges: options.profileChanges ?? { profileChanged: async (userId) => void (await rooms.updateProfileInJoinedRooms(userId)) },
    // Who shares a joined room with a user, for /keys/changes (from the rooms' membership).
    deviceListAudience: options.deviceListAudience ?? {
      async usersSharingRoomsWith(userId: UserId) {
        const out = new Set<UserId>();
        for (const r of await storage.rooms.getRoomsForUser(userId, "join")) for (const u of await storage.roomClient.getRoomMembers(r, "join")) out.add(u);
        return out;
      },
      async membershipChanges(userId: UserId, fromEvents: number, toEvents: number) {
        return deviceListMembershipBetween(storage, userId, fromEvents, toEvents);
      },
    },
    sync: syncService,
    slidingSync,
    typing,
    roomStore: storage.rooms,
    roomClient: storage.roomClient,
    events: storage.events,
    receipts: ephemeralEdus.receipts,
    presence: ephemeralEdus.presence,
    presenceTracker,
    pushRules,
    pushActions: storage.pushActions,
    notifier,
    presenceEnabled: config.presence?.enabled ?? true,
    rooms,
    roomReads,
    stateStore: storage.state,
    roomSettings: { defaultRoomVersion: config.default_room_version },
    // EDUs (typing, receipts, presence, device lists, to-device) go out through enqueueEdu(destinations, edu, {persistent}).
    federationSender: sender,
    // For handlers and components that add a metric (core/metrics.ts); the endpoint's source when enabled.
    metrics,
    ...(metricsRegistry ? { metricsExposition: metricsRegistry } : {}),
    media,
    urlPreviews: createUrlPreviewer(config, media, clock, federation.dns),
  };
  const routes = [...allRoutes, ...(webClient.routes as readonly Route<ApiDeps>[]), ...((options.extraRoutes ?? []) as readonly Route<ApiDeps>[])];
  // Access tokens of local users (auth: "access-token" routes): unknown, expired or deactivated is 401 M_UNKNOWN_TOKEN.
  const accessTokenAuth: AccessTokenAuth = {
    async authenticate(token) {
      const owner = await storage.users.getAccessTokenOwner(token);
      if (!owner || owner.deactivated) return null;
      // An expired token is a soft logout: the client may refresh or log in again without losing its data.
      if (owner.validUntilTs !== null && owner.validUntilTs <= clock.now()) throw new MatrixError("M_UNKNOWN_TOKEN", 401, "the access token has expired", { soft_logout: true });
      if (owner.replacesRefreshToken) await storage.users.retireReplacedRefreshToken(token);
      return { userId: owner.userId, deviceId: owner.deviceId };
    },
  };
  const originAllowed = whitelistPolicy(config.federation_domain_whitelist);
  // rc_federation around every signed request but /send (which has its own, deps.federationRateLimiter), shared by
  // the listeners so an origin's requests count together wherever they arrive.
  const federationRequestLimiter = new FederationRateLimiter(config.rc_federation, clock);

  // Step 5
  const apps: HttpApp[] = [];
  const infos: ListenerInfo[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(apps.map((a) => a.close({ graceMs: options.graceMs ?? 30_000 })));
  };
  try {
    for (const { l, index } of httpListeners) {
      const names = [...new Set(l.resources.flatMap((r) => r.names))];
      const withMetrics = metricsRegistry !== undefined && names.includes("metrics");
      const app = createHttpApp({
        routes: [
          ...routesFor(routes, { resources: new Set(names), federationEnabled: config.federation_enabled }),
          ...(withMetrics ? (metricsRoutes as unknown as readonly Route<ApiDeps>[]) : []),
        ],
        ...(metricsRegistry ? { onResponse: httpMetrics(metricsRegistry, l.tag ?? "") } : {}),
        deps,
        logger: logger.child({ listener: index }),
        ...(options.federationAuth ? { federationAuth: options.federationAuth } : {}),
        federationOriginAllowed: originAllowed,
        federationRateLimiter: federationRequestLimiter,
        accessTokenAuth,
        trustProxy: l.x_forwarded,
        ...(l.trusted_proxies ? { trustedProxies: l.trusted_proxies } : {}),
        ...(l.request_id_header ? { requestIdHeader: l.request_id_header } : {}),
        name: `listener${index}`,
      });
      apps.push(app);
      await bindListener(app, l, index, l.tls ? tls : undefined, infos, names);
    }
    // `type: metrics` listeners: the metrics endpoint alone, plain HTTP (Synapse's listen_metrics).
    for (const { l, index } of metricsListeners) {
      const app = createHttpApp({ routes: metricsRoutes as unknown as readonly Route<ApiDeps>[], deps, logger: logger.child({ listener: index }), name: `listener${index}` });
      apps.push(app);
      await bindListener(app, l, index, undefined, infos, ["metrics"]);
    }
  } catch (e) {
    await closeAll().catch(() => {});
    if (!options.storage) await storage.close().catch(() => {});
    throw e;
  }
  infos.sort((a, b) => a.index - b.index);
  for (const info of infos) {
    logger.info({ listener: info.index, host: info.host, port: info.port, tls: info.tls, resources: info.resources }, "listening");
  }
  await certificates?.attach(apps.flatMap((a) => a.bound.filter((b) => b.tls).map((b) => b.server as unknown as HttpsServer)));

  // Step 6
  if (config.pid_file) {
    try {
      writePidFile(config.pid_file);
    } catch (e) {
      await closeAll().catch(() => {});
      if (!options.storage) await storage.close().catch(() => {});
      throw e;
    }
  }
  // Said loudly once up: a certificate peers will refuse, and where the tester answers.
  const warnings: string[] = [];
  const nameWarning = certificateNameWarning(config, certificates?.reloader.current()?.certPem);
  if (nameWarning) {
    warnings.push(nameWarning);
    logger.warn({ certificate: true }, nameWarning);
  }
  if (config.federation_tester.enabled) {
    const first = infos.find((i) => !i.tls) ?? infos[0];
    const urls = testerUrls(config, first && `${first.tls ? "https" : "http"}://${hostForUrl(first.host)}:${first.port}`);
    logger.info({ url: urls.local, public_url: urls.public }, `federation tester enabled: ${urls.local ?? urls.public} (and ${urls.public} through public_baseurl)`);
  }
  await sender.start();
  await rooms.resumePartialStateRooms();
  await presenceTracker.resume(config.server_name);
  await pushSender.start();
  logger.info({ server_name: config.server_name, version: zionVersion(), database: config.database.name }, "ready");

  let stopping: Promise<void> | undefined;
  return {
    config,
    storage,
    media,
    logger,
    signingKeys,
    listeners: infos,
    rooms,
    notifier,
    pushSender,
    warnings,
    baseUrl(resource: string) {
      const info = infos.find((i) => i.resources.includes(resource));
      return info && `${info.tls ? "https" : "http"}://${hostForUrl(info.host)}:${info.port}`;
    },
    tlsServers: () => apps.flatMap((a) => a.bound.filter((b) => b.tls).map((b) => b.server as unknown as HttpsServer)),
    inFlight: () => apps.reduce((n, a) => n + a.inFlight(), 0),
    stop() {
      stopping ??= (async () => {
        logger.info({ in_flight: apps.reduce((n, a) => n + a.inFlight(), 0) }, "stopping: finishing in-flight requests");
        const closing = closeAll(); // stops accepting first, so no new long-poll starts after the wake below
        notifier.close();
        await closing;
        await sender?.stop();
        pushSender.close();
        rooms.close();
        if (waitingSampler) clearInterval(waitingSampler);
        presenceTracker.close();
        ephemeralEdus.close();
        typing.close();
        await storage.close();
        if (config.pid_file) removePidFile(config.pid_file);
        logger.info("stopped");
        logger.flush?.();
      })();
      return stopping;
    },
  };
}

async function bindListener(
  app: HttpApp,
  l: ListenerConfig,
  index: number,
  tls: SecureContextOptions | undefined,
  infos: ListenerInfo[],
  names: readonly string[],
): Promise<void> {
  const boundHere: { host: string; port: number }[] = [];
  for (const host of l.bind_addresses) {
    try {
      const b = await app.listen({ host, port: l.port, ...(tls ? { tls } : {}) });
      boundHere.push({ host, port: b.port });
      infos.push({ index, host: b.host, port: b.port, tls: b.tls, resources: names });
    } catch (e) {
      // "::" is dual-stack on Linux, so a following "0.0.0.0" on the same port is already served (as in Synapse).
      const dualStack = host === "0.0.0.0" && errnoCode(e) === "EADDRINUSE" && boundHere.some((b) => b.host === "::" && b.port === l.port);
      if (dualStack) continue;
      throw new StartupError([`listeners[${index}]: cannot listen on ${host.includes(":") ? `[${host}]` : host}:${l.port}: ${errnoCode(e)}`]);
    }
  }
}

export type { Server };
