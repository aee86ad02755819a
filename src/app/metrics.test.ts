import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createMetricsRegistry, httpMetrics, timedStorage } from "./metrics.js";
import { noMetrics } from "../core/metrics.js";
import type { Storage } from "../storage/ports.js";
import { parseScrape } from "../../test/harness/prometheus.js";

const scrape = async (r: ReturnType<typeof createMetricsRegistry>) => parseScrape((await r.render()).text);

describe("createMetricsRegistry", () => {
  it("returns the same metric when two components ask for one name, so both count into it", async () => {
    const r = createMetricsRegistry("a.test", { processMetrics: false });
    r.counter({ name: "zion_things", help: "h", labels: ["kind"] }).inc({ kind: "x" });
    r.counter({ name: "zion_things", help: "h", labels: ["kind"] }).inc({ kind: "x" }, 2);
    const s = await scrape(r);
    assert.equal(s.value("zion_things_total", { kind: "x", server_name: "a.test" }), 3);
  });

  it("throws when a name is asked for again with other labels or another kind", () => {
    const r = createMetricsRegistry("a.test", { processMetrics: false });
    r.counter({ name: "zion_things", help: "h", labels: ["kind"] });
    assert.throws(() => r.counter({ name: "zion_things", help: "h", labels: ["other"] }), /already a counter with labels \[kind\]/);
    assert.throws(() => r.gauge({ name: "zion_things", help: "h", labels: ["kind"] }), /already a counter/);
  });

  it("keeps two registries apart (no global registry), each with its server_name", async () => {
    const a = createMetricsRegistry("a.test", { processMetrics: false });
    const b = createMetricsRegistry("b.test", { processMetrics: false });
    a.gauge({ name: "zion_level", help: "h" }).set({}, 5);
    b.gauge({ name: "zion_level", help: "h" }).set({}, 7);
    assert.equal((await scrape(a)).value("zion_level", { server_name: "a.test" }), 5);
    assert.equal((await scrape(b)).value("zion_level", { server_name: "b.test" }), 7);
  });

  it("exports histograms with Synapse's time buckets by default", async () => {
    const r = createMetricsRegistry("a.test", { processMetrics: false });
    r.histogram({ name: "zion_wait_seconds", help: "h" }).observe({}, 0.2);
    const f = (await scrape(r)).families.find((x) => x.name === "zion_wait_seconds")!;
    const les = f.samples.filter((s) => s.name === "zion_wait_seconds_bucket").map((s) => s.labels["le"]);
    assert.deepEqual(les, ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf"]);
  });

  it("includes prom-client's process metrics unless told not to", async () => {
    const s = await scrape(createMetricsRegistry("a.test"));
    for (const n of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) assert.ok(s.has(n), n);
  });
});

describe("httpMetrics", () => {
  it("counts a HEAD as a GET of its servlet, as the GET route answered it", async () => {
    const r = createMetricsRegistry("a.test", { processMetrics: false });
    const record = httpMetrics(r, "main");
    record({ method: "HEAD", servlet: "/health", status: 200, seconds: 0.001 });
    const s = await scrape(r);
    assert.equal(s.value("synapse_http_server_requests_received_total", { method: "GET", servlet: "/health" }), 1);
    assert.equal(s.value("synapse_http_server_response_time_seconds", { method: "GET", servlet: "/health", tag: "main", code: "200" }), 1);
  });
});

describe("timedStorage", () => {
  const fake = {
    backend: "sqlite",
    users: {
      async ok() { return 1; },
      async fails() { throw new Error("boom"); },
      sync() { return 2; },
    },
  } as unknown as Storage;

  it("times each unit of work by area.method, failures too, and passes results and errors through", async () => {
    const r = createMetricsRegistry("a.test", { processMetrics: false });
    let t = 0;
    const s = timedStorage(fake, r, () => (t += 250)) as unknown as { backend: string; users: { ok(): Promise<number>; fails(): Promise<never>; sync(): number } };
    assert.equal(await s.users.ok(), 1);
    await assert.rejects(s.users.fails(), /boom/);
    assert.equal(s.users.sync(), 2);
    assert.equal(s.backend, "sqlite");
    const m = await scrape(r);
    for (const desc of ["users.ok", "users.fails", "users.sync"]) {
      assert.equal(m.value("synapse_storage_transaction_time_count_total", { desc }), 1, desc);
      assert.equal(m.value("synapse_storage_transaction_time_sum_total", { desc }), 0.25, desc);
      assert.equal(m.value("zion_storage_transaction_time_seconds", { desc }), 1, desc);
    }
  });

  it("records nothing through noMetrics", () => {
    const c = noMetrics.counter({ name: "x", help: "h" });
    c.inc();
    noMetrics.histogram({ name: "y", help: "h" }).observe({}, 1);
  });
});
