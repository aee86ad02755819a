/**
 * `zion` is not on the PATH after `npm ci` (issue 11 item 10), so every example in README.md and docs/ runs it as
 * `npx zion ...`: a command line in a code block, or a command with arguments in inline code. Prose that only names a
 * command (`zion doctor` warns ...) is not an example. And `npx zion` really works from the checkout.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const COMMAND_WORDS = new Set(["start", "generate-config", "federation-test", "doctor", "debug", "canonical-json", "sign-json", "verify-json",
  "event-id", "redact", "check-pdu", "auth-check", "resolve-state", "resolve", "keys", "federation-request", "register-user", "admin", "/"]);

/** Examples that call `zion` without npx: code-block lines, and inline code carrying arguments. */
function bareExamples(text: string): string[] {
  const found: string[] = [];
  let inBlock = false;
  text.split("\n").forEach((line, i) => {
    if (line.startsWith("```")) {
      inBlock = !inBlock;
      return;
    }
    if (inBlock) {
      if (/(^\s*(\$ )?|\|\s*|&&\s*|;\s*)zion\s/.test(line)) found.push(`${i + 1}: ${line.trim()}`);
      return;
    }
    for (const m of line.matchAll(/(?<!npx )`(zion [^`]+)`/g)) {
      const words = m[1]!.split(/\s+/).slice(1);
      if (COMMAND_WORDS.has(words[0] ?? "") && words.some((w) => !COMMAND_WORDS.has(w))) found.push(`${i + 1}: ${m[1]}`);
    }
  });
  return found;
}

// Lines that describe what a test or benchmark runs, not what a reader types.
const ALLOWED = [/^zion start -c$/, /^zion federation-test --json$/, /^zion doctor -c$/, /^zion federation-test <synapse>$/];

describe("examples run zion through npx", () => {
  it("flags bare examples (the checker itself)", () => {
    assert.deepEqual(bareExamples("run `zion doctor -c hs.yaml`; `zion doctor` warns\n```sh\nzion start -c x\nnpx zion start\n```"), [
      "1: zion doctor -c hs.yaml",
      "3: zion start -c x",
    ]);
  });

  for (const file of ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]) {
    it(`${file} writes every example as npx zion`, () => {
      const bare = bareExamples(readFileSync(join(root, file), "utf8")).filter((l) => !ALLOWED.some((re) => re.test(l.replace(/^\d+: /, ""))));
      assert.deepEqual(bare, []);
    });
  }

  it("the build leaves the package's bin executable, so a PATH symlink to it runs without npx", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    for (const file of Object.values(pkg.bin)) assert.equal(statSync(join(root, file)).mode & 0o111, 0o111, file);
  });

  it("npx zion runs the built command from the checkout", { timeout: 60_000 }, () => {
    const r = spawnSync("npx", ["--no-install", "zion", "--version"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    assert.equal(r.stdout.trim(), pkg.version);
  });
});
