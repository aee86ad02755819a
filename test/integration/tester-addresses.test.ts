/**
 * The tester's test files bind fixed ports (443 and 8448, the spec's) on fixed 127.0.6.x addresses, and the runner
 * runs two test files at once: no two files may use the same address, or one file's servers would answer (or
 * refuse) for the other's. Each file's machine-wide lock (lockAddresses) then only guards against a second copy of
 * the same file (another checkout's run), so each file needs its own lock name too.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every 127.0.6.x address a file names (not ranges such as 127.0.6.0/24). */
function testerAddresses(text: string): Set<string> {
  return new Set([...text.matchAll(/\b127\.0\.6\.(\d{1,3})\b(?!\/|\.)/g)].map((m) => `127.0.6.${m[1]}`));
}

describe("the tester's fixed test addresses", () => {
  const files = [...sources(join(root, "src")), ...sources(join(root, "test"))]
    .filter((f) => f.endsWith(".test.ts") && !f.endsWith("tester-addresses.test.ts"))
    .map((f) => ({ file: relative(root, f), text: readFileSync(f, "utf8") }));

  it("finds the addresses a file names, not ranges", () => {
    assert.deepEqual([...testerAddresses('a: ["127.0.6.9", "127.0.6.10"], ip_range_whitelist: ["127.0.6.0/24"]')], ["127.0.6.9", "127.0.6.10"]);
  });

  it("gives every test file its own 127.0.6.x addresses, so two files running at once never collide", () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    let used = 0;
    for (const { file, text } of files) {
      for (const a of testerAddresses(text)) {
        used++;
        const other = owner.get(a);
        if (other !== undefined) clashes.push(`${a} is used by ${other} and ${file}`);
        else owner.set(a, file);
      }
    }
    assert.ok(used > 10, "the scan found the tester's test files");
    assert.deepEqual(clashes, []);
  });

  it("gives every test file its own lockAddresses name", () => {
    const names = new Map<string, string>();
    const clashes: string[] = [];
    for (const { file, text } of files) {
      for (const m of text.matchAll(/lockAddresses\("([^"]+)"\)/g)) {
        const other = names.get(m[1]!);
        if (other !== undefined && other !== file) clashes.push(`lock "${m[1]}" is taken by ${other} and ${file}`);
        names.set(m[1]!, file);
      }
    }
    assert.ok(names.size >= 4, `found ${names.size} locks`);
    assert.deepEqual(clashes, []);
  });
});
