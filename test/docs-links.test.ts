/**
 * Every document a user needs lives in the repository (issue 11 item 9): README.md and docs/ may not point at files
 * outside it, whether through a Markdown link, an HTML attribute or a path written in code (`../shared/...`), and
 * a relative link must name a file that exists. Web links (https://...) are fine.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function markdownFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) markdownFiles(p, out);
    else if (name.endsWith(".md")) out.push(p);
  }
  return out;
}

const inside = (p: string): boolean => p === root || p.startsWith(root + sep);

/** The problems of one document: targets outside the repository, and relative links to files that do not exist. */
function linkProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const dir = dirname(file);
  const name = relative(root, file);
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const at = `${name}:${i + 1}`;
    // Markdown links and images, and href/src attributes.
    const targets = [...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...line.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]!);
    for (const t of targets) {
      if (/^(https?|mailto):/i.test(t) || t.startsWith("#")) continue;
      if (/^file:/i.test(t) || t.startsWith("/")) {
        problems.push(`${at}: ${t} is an absolute path, outside the repository`);
        continue;
      }
      const target = resolve(dir, decodeURIComponent(t.split("#")[0]!));
      if (!inside(target)) problems.push(`${at}: ${t} points outside the repository`);
      else if (!existsSync(target)) problems.push(`${at}: ${t} does not exist`);
    }
    // Paths written as text or code that climb out of the repository (`../shared/design/ARCHITECTURE.md`).
    for (const m of line.matchAll(/(?:^|[\s`("'])((?:\.\.\/)+[\w.@-][\w./@-]*)/g)) {
      if (!inside(resolve(dir, m[1]!))) problems.push(`${at}: ${m[1]} points outside the repository`);
    }
    for (const m of line.matchAll(/(?:^|[\s`("'])(\/work\/[\w./@-]*)/g)) problems.push(`${at}: ${m[1]} is a path on one machine, outside the repository`);
  });
  return [...new Set(problems)];
}

describe("documentation links", () => {
  it("finds links and paths that leave the repository (the checker itself)", () => {
    const readme = join(root, "README.md");
    assert.deepEqual(linkProblems(readme, "See `../shared/design/ARCHITECTURE.md` and [x](../../elsewhere.md)."), [
      "README.md:1: ../../elsewhere.md points outside the repository",
      "README.md:1: ../shared/design/ARCHITECTURE.md points outside the repository",
    ]);
    assert.deepEqual(linkProblems(join(root, "docs", "a.md"), "[ok](../README.md) [spec](https://spec.matrix.org/) [gone](missing.md) <a href=\"/etc/x\">"), [
      "docs/a.md:1: missing.md does not exist",
      "docs/a.md:1: /etc/x is an absolute path, outside the repository",
    ]);
  });

  const files = [join(root, "README.md"), ...markdownFiles(join(root, "docs"))];
  for (const file of files) {
    it(`${relative(root, file)} links only to files inside the repository`, () => {
      assert.deepEqual(linkProblems(file, readFileSync(file, "utf8")), []);
    });
  }
});
