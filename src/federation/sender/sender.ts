/**
 * The outbound side of federation: one durable queue per destination (storage's OutboundStore), one transaction
 * in flight per destination, retried on the back-off schedule (backoff.ts).
 * https://spec.matrix.org/v1.16/server-server-api/#transactions
 *
 * For each destination with work, a drain loop:
 * 1. While the destination is in back-off, wait until the interval has run out, or until it contacts us
 *    (`wake`, called from the X-Matrix authentication path), whichever comes first; a woken destination is tried
 *    at once unless the last attempt was less than `wakeMinGapMs` (10 s) ago, then when that has passed.
 * 2. Catch-up: a destination coming back from a failure streak with more than `catchUpThreshold` PDUs queued is
 *    sent only the newest queued event of each room and the room's forward extremities; the remote fetches the gap
 *    with /get_missing_events (the specification's intent, and Synapse's catch-up), instead of a replay.
 * 3. Take the stored transaction, or build one of at most 50 PDUs and 100 EDUs; storage writes its id and
 *    contents before the first attempt, so a retry, even after a crash, sends the same id with the same contents.
 * 4. PUT /send/{txnId}. A 2xx answer completes the transaction: PDUs the remote refused (per-PDU `error`) are
 *    logged and not retried. Any failure (connection, timeout, non-2xx) keeps the transaction and records the next
 *    interval; the first failure of a streak and the recovery each log one line with the reason.
 */
import { noMetrics, type Metrics } from "../../core/metrics.js";
import type { Clock } from "../../core/clock.js";
import type { ServerName } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { OutboundStore, DestinationStore } from "../../storage/ports.js";
import { DEFAULT_BACKOFF, nextRetryInterval, type BackoffConfig } from "./backoff.js";

export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;
/** EDUs stored by default (enqueueEdu): losing one would silently break encryption or device lists. */
export const PERSISTENT_EDU_TYPES: ReadonlySet<string> = new Set(["m.direct_to_device", "m.device_list_update", "m.signing_key_update"]);
/** Droppable EDUs kept in memory per destination at most (the oldest go first). */
const MAX_EPHEMERAL_EDUS = 100;
/** Longest single sleep, so stop() and wake() never wait on a long timer. */
const SLEEP_SLICE_MS = 1000;

export interface SenderClient {
  mayContact(destination: string): { ok: true } | { ok: false; reason: string };
  sendTransaction(
    destination: ServerName,
    txn: { readonly txnId: string; readonly originServerTs: number; readonly pdus: readonly JsonObject[]; readonly edus: readonly JsonObject[] },
  ): Promise<{ pdus: Record<string, { error?: string }> }>;
}

export interface SenderLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface FederationSenderOptions {
  readonly serverName: ServerName;
  readonly storage: { readonly outbound: OutboundStore; readonly destinations: Pick<DestinationStore, "getDestination" | "getDestinationsDueForRetry"> };
  readonly client: SenderClient;
  readonly clock: Clock;
  readonly log?: SenderLog;
  readonly backoff?: BackoffConfig;
  /** Queued PDUs above which a destination back from an outage gets only the newest per room (step 2). */
  readonly catchUpThreshold?: number;
  /** The least time between two attempts when the destination wakes us (step 1); default 10 s. */
  readonly wakeMinGapMs?: number;
  /** Transactions, PDUs and EDUs sent, failures, and per destination its queue and back-off (docs/metrics.md). */
  readonly metrics?: Metrics;
}

/** The sender's metrics. The destination label is bounded by the servers of the rooms this server is in. */
function senderMetrics(m: Metrics) {
  return {
    transactions: m.counter({ name: "synapse_federation_client_sent_transactions", help: "Federation transactions sent (acknowledged)" }),
    attempts: m.counter({ name: "zion_federation_sender_attempts", help: "Transaction attempts, by destination and result", labels: ["destination", "result"] }),
    pdus: m.counter({ name: "synapse_federation_client_sent_pdu_destinations", help: "PDUs sent, counted once per destination" }),
    edus: m.counter({ name: "synapse_federation_client_sent_edus", help: "EDUs sent, counted once per destination" }),
    queued: m.gauge({ name: "zion_federation_destination_queued_pdus", help: "PDUs queued for a destination after the last attempt", labels: ["destination"] }),
    retry: m.gauge({ name: "zion_federation_destination_retry_interval_seconds", help: "A destination's back-off interval (0: healthy)", labels: ["destination"] }),
  };
}

interface DestinationQueue {
  running: boolean;
  /** New work arrived while draining. */
  again: boolean;
  /** Set by wake(): attempt now even in back-off. */
  forceNow: boolean;
  wake: (() => void) | null;
  ephemeral: JsonObject[];
}

const SILENT: SenderLog = { info() {}, warn() {} };

export class FederationSender {
  private readonly queues = new Map<ServerName, DestinationQueue>();
  private readonly running = new Set<Promise<void>>();
  /** Destinations in a failure streak, so that wake() on every inbound request costs no database read. */
  private readonly failing = new Set<ServerName>();
  private readonly log: SenderLog;
  private readonly backoff: BackoffConfig;
  private readonly catchUpThreshold: number;
  private readonly wakeMinGapMs: number;
  private stopped = false;
  private readonly m: ReturnType<typeof senderMetrics>;

  constructor(private readonly opts: FederationSenderOptions) {
    this.m = senderMetrics(opts.metrics ?? noMetrics);
    this.log = opts.log ?? SILENT;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.catchUpThreshold = opts.catchUpThreshold ?? 200;
    this.wakeMinGapMs = opts.wakeMinGapMs ?? 10_000;
  }

  /** Resumes every destination with queued or unacknowledged work (at start-up). */
  async start(): Promise<void> {
    for (const d of await this.opts.storage.destinations.getDestinationsDueForRetry(Number.MAX_SAFE_INTEGER, 1_000_000)) this.failing.add(d.destination);
    for (const d of await this.opts.storage.outbound.destinationsWithQueue()) this.kick(d);
  }

  /** Stops the loops and waits for attempts in progress; queued work stays in storage. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const q of this.queues.values()) q.wake?.();
    await Promise.all([...this.running]);
  }

  /** Which of `servers` may be sent to at all: not ourselves, federation enabled, in the whitelist. */
  allowed(servers: Iterable<string>): ServerName[] {
    const out = new Set<ServerName>();
    for (const s of servers) if (s !== this.opts.serverName && this.opts.client.mayContact(s).ok) out.add(s as ServerName);
    return [...out].sort();
  }

  /** Events were persisted with these destinations queued (EventStore.persistEvents' `outbound`): send them. */
  pdusQueued(destinations: readonly ServerName[]): void {
    for (const d of destinations) this.kick(d);
  }

  /**
   * Queues an EDU for each destination. Persistent EDUs are stored and survive a restart: by default those whose
   * loss would break something silently (`m.direct_to_device`, `m.device_list_update`, `m.signing_key_update`).
   * The others (`m.typing`, `m.presence`, `m.receipt`) are kept in memory and dropped while a destination is in
   * back-off. `opts.persistent` overrides the default.
   */
  async enqueueEdu(destinations: readonly ServerName[], edu: JsonObject, opts: { persistent?: boolean } = {}): Promise<void> {
    const persistent = opts.persistent ?? PERSISTENT_EDU_TYPES.has(String(edu["edu_type"]));
    const to = this.allowed(destinations);
    if (to.length === 0) return;
    if (persistent) await this.opts.storage.outbound.enqueueEdus(to, edu);
    else {
      for (const d of to) {
        const q = this.queue(d);
        q.ephemeral.push(edu);
        if (q.ephemeral.length > MAX_EPHEMERAL_EDUS) q.ephemeral.shift();
      }
    }
    for (const d of to) this.kick(d);
  }

  /** The destination contacted us (an authenticated inbound request): retry at once if it is in back-off. */
  wake(destination: ServerName): void {
    const q = this.queues.get(destination);
    if (q?.running) {
      // Draining: attempt at once, whether it is asleep in back-off now or about to be.
      q.forceNow = true;
      q.wake?.();
      return;
    }
    if (this.failing.has(destination)) {
      this.queue(destination).forceNow = true;
      this.kick(destination);
    }
  }

  private queue(d: ServerName): DestinationQueue {
    let q = this.queues.get(d);
    if (!q) {
      q = { running: false, again: false, forceNow: false, wake: null, ephemeral: [] };
      this.queues.set(d, q);
    }
    return q;
  }

  private kick(d: ServerName): void {
    if (this.stopped) return;
    const q = this.queue(d);
    if (q.running) {
      q.again = true;
      return;
    }
    q.running = true;
    const p = this.drain(d, q)
      .catch((e: unknown) => this.log.warn({ destination: d, err: String(e) }, "federation sender: the queue stopped on an unexpected error"))
      .finally(() => {
        q.running = false;
        this.running.delete(p);
        if (q.again && !this.stopped) this.kick(d);
      });
    this.running.add(p);
  }

  private async sleepOrWake(q: DestinationQueue, ms: number): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((r) => (wake = r));
    q.wake = wake;
    try {
      await Promise.race([this.opts.clock.sleep(Math.min(ms, SLEEP_SLICE_MS)), woken]);
    } finally {
      q.wake = null;
    }
  }

  private async drain(d: ServerName, q: DestinationQueue): Promise<void> {
    const { outbound, destinations } = this.opts.storage;
    const { clock } = this.opts;
    // After a transaction of this loop went through, the destination has no failure streak to read (the
    // completion ended it): one read less per transaction.
    let delivered = false;
    while (!this.stopped) {
      q.again = false;
      const st = delivered ? null : await destinations.getDestination(d);
      const failing = st !== null && st.failureTs !== null;
      // Step 1.
      if (failing) {
        // Woken by the destination: try once it is `wakeMinGapMs` past the last attempt (at once, usually), so a
        // server that talks to us a lot but keeps failing our transactions is not retried on every request.
        const forced = q.forceNow;
        const due = st.retryLastTs! + (forced ? Math.min(st.retryIntervalMs, this.wakeMinGapMs) : st.retryIntervalMs);
        if (due > clock.now()) {
          q.ephemeral = [];
          while (!this.stopped && q.forceNow === forced && due > clock.now()) await this.sleepOrWake(q, due - clock.now());
          continue;
        }
      }
      q.forceNow = false;
      // Step 2.
      if (failing && (await outbound.queuedPduCount(d)) > this.catchUpThreshold) {
        const dropped = await outbound.keepOnlyNewestPerRoom(d);
        this.log.info({ destination: d, dropped }, "federation sender: catching up: sending only the newest events of each room; the destination fetches the gap");
      }
      // Step 3.
      const extra = q.ephemeral.splice(0, MAX_EDUS_PER_TRANSACTION);
      const txn = await outbound.nextTransaction(d, { maxPdus: MAX_PDUS_PER_TRANSACTION, maxEdus: MAX_EDUS_PER_TRANSACTION }, clock.now(), extra);
      if (!txn) return;
      // Step 4.
      try {
        const res = await this.opts.client.sendTransaction(d, { txnId: txn.txnId, originServerTs: txn.originServerTs, pdus: txn.pdus.map((p) => p.json), edus: txn.edus });
        for (const [eventId, r] of Object.entries(res.pdus)) {
          if (r && typeof r === "object" && typeof r.error === "string") {
            this.log.warn({ destination: d, txnId: txn.txnId, eventId, error: r.error }, "federation sender: the destination refused a PDU (not retried)");
          }
        }
        await outbound.completeTransaction(d, txn.txnId, clock.now());
        delivered = true;
        this.m.transactions.inc();
        this.m.attempts.inc({ destination: d, result: "ok" });
        this.m.pdus.inc({}, txn.pdus.length);
        this.m.edus.inc({}, txn.edus.length);
        this.m.retry.set({ destination: d }, 0);
        if (this.opts.metrics) this.m.queued.set({ destination: d }, await outbound.queuedPduCount(d));
        this.failing.delete(d);
        if (failing) this.log.info({ destination: d, since: st.failureTs, txnId: txn.txnId }, "federation sender: destination recovered");
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        delivered = false;
        const interval = nextRetryInterval(failing ? st.retryIntervalMs : 0, this.backoff);
        await outbound.recordFailure(d, clock.now(), interval, reason);
        this.m.attempts.inc({ destination: d, result: "failed" });
        this.m.retry.set({ destination: d }, interval / 1000);
        if (this.opts.metrics) this.m.queued.set({ destination: d }, await outbound.queuedPduCount(d));
        this.failing.add(d);
        if (!failing) this.log.warn({ destination: d, txnId: txn.txnId, reason, retryInMs: interval }, "federation sender: destination started failing");
      }
    }
  }
}
