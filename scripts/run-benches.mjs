#!/usr/bin/env node
// Runs every compiled benchmark (dist/**/*.bench.js) one after another; each
// prints its own figures and ratios. Pass substrings to run only some.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir, out) {
  try { statSync(dir); } catch { return out; }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".bench.js")) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
let files = [...walk("dist/src", []), ...walk("dist/bench", [])].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const r = spawnSync(process.execPath, ["--expose-gc", f], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
