/**
 * Enforces the dependency direction of ARCHITECTURE.md by scanning every
 * import specifier under src/. Tests (*.test.ts) and benchmarks (*.bench.ts)
 * are exempt: they may reach harnesses and generators.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const src = join(root, "src");

/** Layer of a path relative to src/: the first folder, with storage split into ports/shared vs backends. */
function layerOf(rel: string): string {
  const parts = rel.split("/");
  if (parts[0] === "storage") {
    if (parts[1] === "ports.ts" || parts[1] === "ports.js" || parts[1] === "ports") return "storage/ports";
    if (parts[1] === "sqlite" || parts[1] === "postgres") return "storage/backend";
    if (parts[1] === "conformance") return "storage/conformance";
    return "storage/shared";
  }
  if (parts[0] === "api" && parts[1] === "http") return "api/http";
  return parts[0] ?? "";
}

/** What each layer may import from other layers of src/. */
const ALLOWED: Record<string, readonly string[]> = {
  core: ["core"],
  config: ["core", "config"],
  "storage/ports": ["core", "storage/ports"],
  "storage/shared": ["core", "storage/ports", "storage/shared"],
  "storage/backend": ["core", "storage/ports", "storage/shared", "storage/backend"],
  "storage/conformance": ["core", "storage/ports", "storage/conformance"],
  federation: ["core", "storage/ports", "federation"],
  acme: ["core", "acme"],
  rooms: ["core", "storage/ports", "federation", "rooms"],
  sync: ["core", "storage/ports", "rooms", "sync"],
  api: ["core", "storage/ports", "federation", "rooms", "sync", "api", "api/http"],
  "api/http": ["core", "api/http"],
  tester: ["core", "config", "federation", "tester"],
  app: ["core", "config", "storage/ports", "storage/shared", "storage/backend", "federation", "acme", "rooms", "sync", "api", "api/http", "tester", "app"],
  cli: ["core", "config", "app", "tester", "cli"],
  // The browser program bundled into dist/web-client: it talks to the server over HTTP only.
  "web-client": ["web-client"],
};

/** Packages and node built-ins that only some layers may use. */
const PACKAGE_RULES: Array<{ pkg: RegExp; only: readonly string[]; why: string }> = [
  { pkg: /^(fastify|@fastify\/)/, only: ["api/http", "app"], why: "only api/http (and the composition root) touch the HTTP framework" },
  { pkg: /^better-sqlite3(-node22)?$/, only: ["storage/backend"], why: "SQLite driver glue lives in storage/sqlite" },
  { pkg: /^pg$/, only: ["storage/backend"], why: "PostgreSQL driver glue lives in storage/postgres" },
  { pkg: /^sodium-native$/, only: ["core/crypto"], why: "core/crypto is the only crypto-library user" },
  { pkg: /^(hydrogen-view-sdk|@matrix-org\/olm)(\/|$)/, only: ["web-client"], why: "the web client's libraries run in the browser, bundled from src/web-client" },
];

/** The pure core may import nothing that does I/O: no node built-ins except hashing in core/crypto. */
const CORE_NODE_ALLOWED: Record<string, readonly string[]> = { "core/crypto": ["node:crypto"] };

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".bench.ts")) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

describe("architecture", () => {
  const files = walk(src);
  it("finds source files to check", () => assert.ok(files.length > 3));

  it("imports point inwards only, as ARCHITECTURE.md lays out", () => {
    const breaches: string[] = [];
    for (const file of files) {
      const rel = relative(src, file);
      const from = layerOf(rel);
      const allowed = ALLOWED[from];
      if (!allowed) { breaches.push(`${rel}: folder ${from} is not in ARCHITECTURE.md`); continue; }
      for (const spec of importsOf(readFileSync(file, "utf8"))) {
        if (spec.startsWith(".")) {
          const target = relative(src, resolve(dirname(file), spec));
          if (target.startsWith("..")) { breaches.push(`${rel} imports ${spec}, outside src/`); continue; }
          const to = layerOf(target);
          if (!allowed.includes(to)) breaches.push(`${rel} (${from}) imports ${spec} (${to})`);
          continue;
        }
        const sub = rel.split("/").slice(0, 2).join("/");
        if (from === "core" && (spec.startsWith("node:") || !spec.startsWith("."))) {
          const ok = (CORE_NODE_ALLOWED[sub] ?? []).includes(spec) || (sub === "core/crypto" && spec === "sodium-native");
          if (!ok) breaches.push(`${rel} (pure core) imports ${spec}`);
          continue;
        }
        for (const rule of PACKAGE_RULES) {
          if (rule.pkg.test(spec) && !rule.only.includes(from) && !rule.only.includes(sub)) breaches.push(`${rel} imports ${spec}: ${rule.why}`);
        }
      }
    }
    assert.deepEqual(breaches, []);
  });

  it("keeps the browser program (src/web-client) apart: it imports no server layer and no layer imports it", () => {
    assert.deepEqual(ALLOWED["web-client"], ["web-client"]);
    for (const [layer, allowed] of Object.entries(ALLOWED)) {
      if (layer !== "web-client") assert.ok(!allowed.includes("web-client"), `${layer} may not import src/web-client`);
    }
  });

  it("detects a breach (the checker itself works)", () => {
    assert.deepEqual(importsOf(`import { x } from "../../storage/sqlite/db.js";\nimport "node:fs";`), ["../../storage/sqlite/db.js", "node:fs"]);
    assert.equal(layerOf("storage/sqlite/db.ts"), "storage/backend");
    assert.ok(!ALLOWED["core"]!.includes(layerOf("storage/sqlite/db.ts")));
  });
});
