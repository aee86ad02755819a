import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parsePrometheusText, parseScrape } from "./prometheus.js";

const HIST = `# HELP h help
# TYPE h histogram
h_bucket{le="0.1",a="1"} 1
h_bucket{le="+Inf",a="1"} 2
h_sum{a="1"} 0.5
h_count{a="1"} 2
`;

describe("parsePrometheusText", () => {
  it("reads labelled counters and histograms, with escapes in label values", () => {
    const s = parseScrape(`# TYPE c_total counter\nc_total{p="a\\"b\\\\c\\nd"} 3\nc_total{p="x"} 4 1700000000000\n${HIST}`);
    assert.equal(s.value("c_total"), 7);
    assert.equal(s.value("c_total", { p: 'a"b\\c\nd' }), 3);
    assert.equal(s.value("h", { a: "1" }), 2);
  });

  it("refuses malformed input with the line number", () => {
    const bad: [string, RegExp][] = [
      ["c_total 1\n", /line 1: sample c_total outside its declared family/],
      ["# TYPE c counter\nc{a=1} 1\n", /line 2: label a value is not quoted/],
      ["# TYPE c counter\nc{a=\"1\"} one\n", /line 2: "one" is not a sample value/],
      ["# TYPE c counter\n# TYPE c counter\n", /line 2: family c declared twice/],
      ["# TYPE c counter\nc{a=\"1\",a=\"2\"} 1\n", /label a repeated/],
      ["# TYPE c countr\n", /not a metric type/],
      [HIST.replace('h_count{a="1"} 2', 'h_count{a="1"} 3'), /\+Inf bucket must equal _count/],
      [HIST.replace('h_bucket{le="+Inf",a="1"} 2', 'h_bucket{le="+Inf",a="1"} 0').replace('h_count{a="1"} 2', 'h_count{a="1"} 0'), /bucket counts decrease/],
    ];
    for (const [text, re] of bad) assert.throws(() => parsePrometheusText(text), re, text);
  });
});
