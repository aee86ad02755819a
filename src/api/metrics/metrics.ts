/**
 * GET /_synapse/metrics (Synapse's path, what Prometheus scrape configs for Synapse name) and GET /metrics: the
 * Prometheus text exposition format. Mounted only when `enable_metrics` is on, on a `type: metrics` listener or an
 * http listener with the `metrics` resource (app/homeserver.ts); unauthenticated, as in Synapse, so bind it to an
 * address only the scraper reaches (docs/metrics.md). The work per request is one pass over the registry.
 */
import type { MetricsExposition } from "../../core/metrics.js";
import { defineRoute, HttpResponse, type Route } from "../http/index.js";

export interface MetricsDeps {
  readonly metricsExposition: MetricsExposition;
}

const handle = async (_input: unknown, { metricsExposition }: MetricsDeps): Promise<HttpResponse> => {
  const { contentType, text } = await metricsExposition.render();
  return HttpResponse.text(200, text, contentType);
};

export const getSynapseMetrics = defineRoute({ method: "GET", path: "/_synapse/metrics", auth: "none", resource: "metrics", cors: false, handle });
export const getMetrics = defineRoute({ method: "GET", path: "/metrics", auth: "none", resource: "metrics", cors: false, handle });

export const metricsRoutes: readonly Route<MetricsDeps>[] = [getSynapseMetrics, getMetrics] as readonly Route<MetricsDeps>[];
