#!/usr/bin/env node
// Prints the functions of a V8 .cpuprofile (node --cpu-prof, or a bench run with ZION_BENCH_PROFILE) by self
// time and by inclusive time, the top N of each:  node scripts/cpu-profile-summary.mjs FILE [N]
import { readFileSync } from "node:fs";

const [file, n = "40"] = process.argv.slice(2);
if (!file) {
  console.error("usage: cpu-profile-summary.mjs FILE.cpuprofile [N]");
  process.exit(2);
}
const top = Number(n);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const label = (node) => {
  const f = node.callFrame;
  return `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(dist|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
};
const hits = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  hits.set(id, (hits.get(id) ?? 0) + dt);
  total += dt;
});
const self = new Map();
const inclusive = new Map();
for (const [id, t] of hits) {
  const own = label(byId.get(id));
  self.set(own, (self.get(own) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur));
    if (seen.has(k)) continue; // recursion counts once
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  }
}
for (const [title, m] of [["self", self], ["inclusive", inclusive]]) {
  console.log(`--- by ${title} time (profile ${(total / 1000).toFixed(0)} ms)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(v / 1000).toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}
