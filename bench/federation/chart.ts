/**
 * The report's chart: a vega-lite specification built from the figures (ingest PDUs/s per target, and the p50 /
 * p90 / p99 latencies of each workload per target, one panel and one linear scale per workload; the big joins' and
 * the state conflicts' times per target, one panel each), compiled to vega and rendered to SVG headless (vega's View with
 * no renderer; SVG needs no canvas), so the picture is made by the plotting library from the same numbers as the
 * tables, never drawn by hand.
 */
import * as vega from "vega";
import * as vl from "vega-lite";

export interface ChartRow {
  readonly target: string;
  readonly workload: string;
  readonly measure: string;
  readonly value: number;
}

export async function renderChart(throughput: readonly ChartRow[], latency: readonly ChartRow[], title: string, times: readonly ChartRow[] = []): Promise<string> {
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    vconcat: [
      {
        title: "Ingest: accepted PDUs per second (higher is better)",
        data: { values: throughput.filter((r) => Number.isFinite(r.value)).map((r) => ({ ...r })) },
        mark: "bar",
        width: 420,
        encoding: {
          y: { field: "target", type: "nominal", title: null },
          x: { field: "value", type: "quantitative", title: "PDUs/s" },
          color: { field: "target", type: "nominal", legend: null },
        },
      },
      {
        title: "Latency per workload, ms (each panel its own scale; lower is better)",
        data: { values: latency.filter((r) => Number.isFinite(r.value) && r.value > 0).map((r) => ({ ...r })) },
        mark: "bar",
        width: 120,
        encoding: {
          column: { field: "workload", type: "nominal", title: null },
          x: { field: "measure", type: "nominal", title: null, sort: ["p50", "p90", "p99"] },
          xOffset: { field: "target", type: "nominal" },
          y: { field: "value", type: "quantitative", title: "ms" },
          color: { field: "target", type: "nominal" },
        },
        resolve: { scale: { y: "independent" } },
      },
      ...(times.some((r) => Number.isFinite(r.value)) ? [{
        title: "Big join and state conflicts, seconds (each panel its own scale; lower is better)",
        data: { values: times.filter((r) => Number.isFinite(r.value)).map((r) => ({ ...r })) },
        mark: "bar" as const,
        width: 160,
        encoding: {
          column: { field: "workload", type: "nominal" as const, title: null },
          x: { field: "measure", type: "nominal" as const, title: null },
          xOffset: { field: "target", type: "nominal" as const },
          y: { field: "value", type: "quantitative" as const, title: "s" },
          color: { field: "target", type: "nominal" as const },
        },
        resolve: { scale: { y: "independent" as const } },
      }] : []),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
