#!/usr/bin/env node
// Runs every compiled benchmark (dist/**/*.bench.js) one after another; each
// prints its own figures and ratios. Pass substrings to run only some; arguments
// starting with "--" (and the value after --target) go to each benchmark instead.
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
const args = process.argv.slice(2);
const passed = [];
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith("--")) {
    passed.push(args[i]);
    if (args[i] === "--target" && i + 1 < args.length) passed.push(args[++i]);
  } else filters.push(args[i]);
}
let files = [...walk("dist/src", []), ...walk("dist/bench", [])].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const r = spawnSync(process.execPath, ["--expose-gc", f, ...passed], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
