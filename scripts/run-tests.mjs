#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
//   --only unit      everything but test/interop (no Synapse needed)
//   --only interop   only test/interop (a real Synapse)
// Extra arguments after "--" are passed to `node --test`.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const onlyIdx = args.indexOf("--only");
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const dashdash = args.indexOf("--");
const passThrough = dashdash >= 0 ? args.slice(dashdash + 1) : [];
const filters = args.filter((a, i) => !a.startsWith("--") && (onlyIdx < 0 || i !== onlyIdx + 1) && (dashdash < 0 || i < dashdash));

function walk(dir, out) {
  try { statSync(dir); } catch { return out; }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

let files = [...walk("dist/src", []), ...walk("dist/test", [])].sort();
const isInterop = (f) => relative("dist", f).startsWith("test/interop");
if (only === "unit") files = files.filter((f) => !isInterop(f));
if (only === "interop") files = files.filter(isInterop);
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ["--enable-source-maps", "--test", "--test-concurrency=2", "--test-reporter=spec", ...passThrough, ...files],
  { stdio: "inherit", env: { ...process.env, NODE_ENV: "test" } },
);
process.exit(r.status ?? 1);
