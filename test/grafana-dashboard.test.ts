/**
 * docs/grafana/zion.json is a valid Grafana dashboard whose every query reads metrics Zion exports: a real server
 * with enable_metrics is scraped, and each metric name in a panel query or template variable must be one of the
 * scrape's families (or a histogram's _bucket/_sum/_count series). Panels exist for what operators watch first.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "./harness/server.js";
import { httpCall } from "./harness/http-get.js";
import { parsePrometheusText } from "./harness/prometheus.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Dashboard {
  title: string;
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: string }[] };
}

const dashboard = JSON.parse(readFileSync(resolve(root, "docs/grafana/zion.json"), "utf8")) as Dashboard;

/** Metric names in a PromQL expression: identifiers of Zion's, Synapse's and prom-client's prefixes. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:synapse|zion|process|nodejs)_[a-zA-Z0-9_:]*)/g)].map((m) => m[1]!);
}

function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const f of parsePrometheusText(text)) {
    names.add(f.name);
    if (f.type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${f.name}${s}`);
  }
  return names;
}

describe("docs/grafana/zion.json", () => {
  let zion: TestServer;
  let exported: Set<string>;
  before(async () => {
    zion = await startTestServer({
      config: {
        enable_metrics: true,
        listeners: [{ port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client", "metrics"] }] }],
      },
    });
    const r = await httpCall(`${zion.clientUrl}/_synapse/metrics`);
    assert.equal(r.status, 200);
    exported = exportedNames(r.body);
  });
  after(() => zion?.stop());

  it("queries only metrics that Zion exports", () => {
    const queries = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.templating.list.flatMap((v) => (v.query ? [v.query] : []))];
    const used = new Set(queries.flatMap(metricNames));
    assert.ok(used.size >= 15, `only ${used.size} metric names found in the dashboard`);
    const missing = [...used].filter((n) => !exported.has(n));
    assert.deepEqual(missing, [], `not exported: ${missing.join(", ")}`);
    assert.ok(!exported.has("synapse_made_up_total")); // the check can fail
  });

  it("has panels for request rate, latency, errors, memory, CPU, federation, key fetches and database time", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join("\n");
    for (const w of ["request rate", "response time", "error", "memory", "cpu", "federation", "key fetches", "database time"]) assert.match(titles, new RegExp(w), w);
    assert.equal(new Set(dashboard.panels.map((p) => (p as unknown as { id: number }).id)).size, dashboard.panels.length);
  });
});
