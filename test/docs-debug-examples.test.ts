/**
 * docs/debug-tools.md's ready inputs (issue 11 item 15): the files in docs/examples/ are exactly what their
 * generator writes, and every command of the document's (untagged) console blocks, run as written from the
 * checkout with `npx zion`, prints what the document shows and exits as it says. The `lab` block needs running
 * servers: test/integration/private-federation.test.ts runs it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { debugExamples } from "./gen/debug-examples.js";
import { consoleCommands, outputMatches, runDocCommand } from "./harness/doc-examples.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const doc = readFileSync(join(root, "docs/debug-tools.md"), "utf8");

describe("docs/debug-tools.md examples", () => {
  it("ships docs/examples/ exactly as test/gen/debug-examples.ts generates it", () => {
    const want = debugExamples();
    assert.deepEqual(readdirSync(join(root, "docs/examples")).sort(), Object.keys(want).sort());
    for (const [name, text] of Object.entries(want)) assert.equal(readFileSync(join(root, "docs/examples", name), "utf8"), text, name);
  });

  it("matches output as the document means it (the matcher itself)", () => {
    assert.ok(outputMatches(["{", "...", "}"], "{\n  a\n  b\n}\n"));
    assert.ok(outputMatches(["x ... z"], "x y z\n"));
    assert.ok(!outputMatches(["{", "}"], "{\n  a\n}\n"));
    assert.ok(!outputMatches(["x"], "y\n"));
  });

  const commands = consoleCommands(doc);
  it("documents a ready example for every debug command that reads its input", () => {
    const used = new Set(commands.flatMap((c) => [...c.command.matchAll(/npx zion debug ([a-z-]+)/g)].map((m) => m[1]!)));
    for (const cmd of ["canonical-json", "sign-json", "verify-json", "event-id", "redact", "check-pdu", "auth-check", "resolve-state"]) assert.ok(used.has(cmd), cmd);
    const lab = new Set(consoleCommands(doc, "lab").flatMap((c) => [...c.command.matchAll(/npx zion debug ([a-z-]+)/g)].map((m) => m[1]!)));
    assert.deepEqual([...lab].sort(), ["federation-request", "keys", "resolve"]);
  });

  for (const c of commands) {
    it(`line ${c.line}: ${c.command.slice(0, 90)}`, { timeout: 60_000 }, () => {
      const r = runDocCommand(c.command, { cwd: root });
      assert.equal(r.code, c.exit, `exit code; stderr: ${r.stderr}`);
      assert.ok(outputMatches(c.expected, r.stdout), `output differs from the document:\n${r.stdout}`);
    });
  }
});
