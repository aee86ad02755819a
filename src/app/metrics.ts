/**
 * The prom-client implementation of core/metrics.ts, one registry per homeserver (never prom-client's global one,
 * so two servers in one process, as in tests, keep their figures apart), and the metrics Zion records today.
 *
 * Names: Synapse's where its Grafana dashboard reads them (docs/metrics.md lists each one), `zion_` otherwise.
 * Every series carries `server_name` as Synapse's do (its SERVER_NAME_LABEL), as a registry default label.
 */
import client from "prom-client";
import type { Storage } from "../storage/ports.js";
import { DEFAULT_TIME_BUCKETS, type Counter, type Gauge, type Histogram, type HistogramSpec, type Labels, type MetricSpec, type Metrics } from "../core/metrics.js";

export interface MetricsRegistry extends Metrics {
  /** The Prometheus text exposition format of every metric. */
  render(): Promise<{ contentType: string; text: string }>;
}

type Kind = "counter" | "gauge" | "histogram";

/** A registry with prom-client's process metrics (CPU, RSS, heap, event-loop lag, GC) and `server_name` on every series. */
export function createMetricsRegistry(serverName: string, opts: { processMetrics?: boolean } = {}): MetricsRegistry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ server_name: serverName });
  if (opts.processMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  const made = new Map<string, { kind: Kind; labels: string; metric: unknown }>();

  function get<T>(kind: Kind, spec: MetricSpec<string>, build: (labelNames: string[]) => T): T {
    const labelNames = [...(spec.labels ?? [])];
    const key = labelNames.join(",");
    const seen = made.get(spec.name);
    if (seen) {
      if (seen.kind !== kind || seen.labels !== key) throw new Error(`metric ${spec.name} is already a ${seen.kind} with labels [${seen.labels}]`);
      return seen.metric as T;
    }
    const metric = build(labelNames);
    made.set(spec.name, { kind, labels: key, metric });
    return metric;
  }
  const clean = (labels: Labels<string> | undefined): Record<string, string | number> => (labels ?? {}) as Record<string, string | number>;

  return {
    counter<L extends string>(spec: MetricSpec<L>): Counter<L> {
      return get("counter", spec, (labelNames) => {
        // Python's prometheus_client (Synapse) exports a counter "x" as x_total; prom-client exports names as given.
        const name = spec.name.endsWith("_total") ? spec.name : `${spec.name}_total`;
        const c = new client.Counter({ name, help: spec.help, labelNames, registers: [registry] });
        return { inc: (labels, by = 1) => c.inc(clean(labels), by) };
      });
    },
    gauge<L extends string>(spec: MetricSpec<L>): Gauge<L> {
      return get("gauge", spec, (labelNames) => {
        const g = new client.Gauge({ name: spec.name, help: spec.help, labelNames, registers: [registry] });
        return {
          set: (labels, value) => g.set(clean(labels), value),
          inc: (labels, by = 1) => g.inc(clean(labels), by),
          dec: (labels, by = 1) => g.dec(clean(labels), by),
        };
      });
    },
    histogram<L extends string>(spec: HistogramSpec<L>): Histogram<L> {
      return get("histogram", spec, (labelNames) => {
        const h = new client.Histogram({ name: spec.name, help: spec.help, labelNames, buckets: [...(spec.buckets ?? DEFAULT_TIME_BUCKETS)], registers: [registry] });
        return { observe: (labels, value) => h.observe(clean(labels), value) };
      });
    },
    async render() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}

/** What the HTTP layer reports once a response is sent (see api/http's onResponse option). */
export interface HttpResponseRecord {
  readonly method: string;
  /** The route's path template (e.g. /_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId), "unmatched" for none. */
  readonly servlet: string;
  readonly status: number;
  readonly seconds: number;
}

/**
 * Synapse's request metrics (synapse/http/request_metrics.py): requests received by method and servlet, responses
 * by method and code, and the response time by method, servlet and code (Synapse's histogram also has `tag`: the
 * listener's tag, "" when unset, as here). Zion counts a request as received when it is answered.
 */
export function httpMetrics(metrics: Metrics, tag = ""): (r: HttpResponseRecord) => void {
  const received = metrics.counter({ name: "synapse_http_server_requests_received", help: "Requests received, by method and servlet", labels: ["method", "servlet"] });
  const responses = metrics.counter({ name: "synapse_http_server_responses", help: "Responses sent, by method and status code", labels: ["method", "code"] });
  const responseCount = metrics.counter({ name: "synapse_http_server_response_count", help: "Responses sent, by method, servlet and tag", labels: ["method", "servlet", "tag"] });
  const time = metrics.histogram({ name: "synapse_http_server_response_time_seconds", help: "Time to answer a request, in seconds", labels: ["method", "servlet", "tag", "code"] });
  return (r) => {
    const method = r.method === "HEAD" ? "GET" : r.method; // fastify answers HEAD through the GET route
    received.inc({ method, servlet: r.servlet });
    responses.inc({ method, code: r.status });
    responseCount.inc({ method, servlet: r.servlet, tag });
    time.observe({ method, servlet: r.servlet, tag, code: r.status }, r.seconds);
  };
}

/**
 * Times every storage unit of work (each method of each store in ports.ts) by `desc` ("users.getAccessTokenOwner"),
 * as Synapse times its named transactions: Synapse's two counters (synapse_storage_transaction_time_count_total and
 * _sum_total, what its dashboard reads) and a histogram, zion_storage_transaction_time_seconds, for quantiles.
 * Wrapped here, at the boundary, so backends stay unaware of metrics. Failures are timed too.
 */
export function timedStorage(storage: Storage, metrics: Metrics, now: () => number = () => performance.now()): Storage {
  const time = metrics.histogram({ name: "zion_storage_transaction_time_seconds", help: "Time of a storage unit of work, in seconds, by operation", labels: ["desc"] });
  const count = metrics.counter({ name: "synapse_storage_transaction_time_count", help: "Storage units of work run, by operation", labels: ["desc"] });
  const sum = metrics.counter({ name: "synapse_storage_transaction_time_sum", help: "Seconds spent in storage units of work, by operation", labels: ["desc"] });
  const wrapArea = (area: string, store: object): object =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function" || typeof prop !== "string") return value;
        const desc = `${area}.${prop}`;
        return function timed(this: unknown, ...args: unknown[]): unknown {
          const start = now();
          const done = (): void => {
            const seconds = (now() - start) / 1000;
            time.observe({ desc }, seconds);
            count.inc({ desc });
            sum.inc({ desc }, seconds);
          };
          let out: unknown;
          try {
            out = (value as (...a: unknown[]) => unknown).apply(target, args);
          } catch (e) {
            done();
            throw e;
          }
          if (out instanceof Promise) return out.finally(done);
          done();
          return out;
        };
      },
    });
  const areas = new Map<string, object>();
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && typeof value === "object" && value !== null) {
        let wrapped = areas.get(prop);
        if (!wrapped) areas.set(prop, (wrapped = wrapArea(prop, value)));
        return wrapped;
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Event types the persisted-events counter names; any other type is counted as "other", so a sender cannot add series. */
const COUNTED_EVENT_TYPES = new Set([
  "m.room.message", "m.room.encrypted", "m.room.member", "m.room.create", "m.room.power_levels", "m.room.join_rules",
  "m.room.history_visibility", "m.room.name", "m.room.topic", "m.room.avatar", "m.room.canonical_alias",
  "m.room.redaction", "m.room.encryption", "m.room.server_acl", "m.room.tombstone", "m.reaction", "m.sticker",
  "m.room.guest_access", "m.room.pinned_events", "m.space.child", "m.space.parent", "org.matrix.dummy_event",
]);

/**
 * Counts the events each persist writes (stored before: not counted), local and remote apart: Synapse's
 * synapse_storage_events_persisted_events_total and its _sep_ counter by type and origin. Wraps the one storage
 * method every event write goes through (local events, remote ones, backfill, joins), so the room pipeline stays
 * unaware of metrics.
 */
export function countPersistedEvents(storage: Storage, metrics: Metrics, serverName: string): Storage {
  const all = metrics.counter({ name: "synapse_storage_events_persisted_events", help: "Events persisted (new ones)" });
  const sep = metrics.counter({ name: "synapse_storage_events_persisted_events_sep", help: "Events persisted, by event type and origin", labels: ["type", "origin_type"] });
  const events: Storage["events"] = Object.create(storage.events, {
    persistEvents: {
      value: async (batch: Parameters<Storage["events"]["persistEvents"]>[0]) => {
        const result = await storage.events.persistEvents(batch);
        const known = new Set(result.alreadyKnown);
        const seen = new Set<string>();
        for (const { pdu } of batch.events) {
          if (known.has(pdu.eventId) || seen.has(pdu.eventId)) continue;
          seen.add(pdu.eventId);
          all.inc();
          const local = pdu.sender.slice(pdu.sender.indexOf(":") + 1) === serverName;
          sep.inc({ type: COUNTED_EVENT_TYPES.has(pdu.type) ? pdu.type : "other", origin_type: local ? "local" : "remote" });
        }
        return result;
      },
    },
  });
  return new Proxy(storage, { get: (target, prop, receiver) => (prop === "events" ? events : Reflect.get(target, prop, receiver)) });
}
