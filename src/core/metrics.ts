/**
 * Metrics as a port: what code in api/, federation/, rooms/, sync/ and storage wrappers counts and times, without
 * knowing about Prometheus. The composition root (app/metrics.ts) passes a prom-client implementation when
 * `enable_metrics` is on; everything else gets `noMetrics`, which records nothing.
 *
 * Adding a metric is one line where the work happens, e.g. in a component that was handed `metrics`:
 *
 *   const persisted = metrics.counter({ name: "synapse_storage_events_persisted_events", help: "Events persisted", labels: ["origin_type"] });
 *   persisted.inc({ origin_type: "local" });
 *
 * Asking twice for the same name returns the same metric (so two components may share one), but asking for it with
 * other labels or another kind is a programming error and throws. Names follow Prometheus: counters are exported
 * with a `_total` suffix added when the name lacks one; times are in seconds.
 */

export type Labels<L extends string> = Partial<Readonly<Record<L, string | number>>>;

export interface MetricSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labels?: readonly L[];
}

export interface HistogramSpec<L extends string> extends MetricSpec<L> {
  /** Bucket upper bounds, in seconds for times (default: DEFAULT_TIME_BUCKETS). */
  readonly buckets?: readonly number[];
}

export interface Counter<L extends string = never> {
  inc(labels?: Labels<L>, by?: number): void;
}

export interface Gauge<L extends string = never> {
  set(labels: Labels<L>, value: number): void;
  inc(labels?: Labels<L>, by?: number): void;
  dec(labels?: Labels<L>, by?: number): void;
}

export interface Histogram<L extends string = never> {
  observe(labels: Labels<L>, value: number): void;
}

export interface Metrics {
  counter<L extends string = never>(spec: MetricSpec<L>): Counter<L>;
  gauge<L extends string = never>(spec: MetricSpec<L>): Gauge<L>;
  histogram<L extends string = never>(spec: HistogramSpec<L>): Histogram<L>;
}

/** Synapse's buckets for request and transaction times (seconds), so dashboards' quantiles line up. */
export const DEFAULT_TIME_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const nothing = { inc() {}, dec() {}, set() {}, observe() {} };

/** Records nothing: the default wherever metrics are off or a test does not care. */
export const noMetrics: Metrics = {
  counter: () => nothing,
  gauge: () => nothing,
  histogram: () => nothing,
};

/** What the metrics endpoint serves: the registry's Prometheus text (app/metrics.ts implements it). */
export interface MetricsExposition {
  render(): Promise<{ readonly contentType: string; readonly text: string }>;
}
