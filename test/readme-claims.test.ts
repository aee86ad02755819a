/**
 * The README claims only what is tested (issue 11 item 22): a homeserver is named as tested against only when a
 * harness for it exists in test/harness/, the Synapse version it names is the pinned one, and every benchmark figure
 * in the Performance section comes with the day it was measured and the machine's load average.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const readme = readFileSync(join(root, "README.md"), "utf8");

describe("README claims", () => {
  it("calls Zion interoperable, or tested, only with servers that have a test harness", () => {
    for (const server of ["Synapse", "Dendrite", "Conduit", "continuwuity"]) {
      const claimed = new RegExp(`interoperable with [^.]*\\b${server}\\b|tested against (a real )?${server}|against a real (Synapse and a real )?${server}|^A real ${server}`, "im").test(readme);
      const harness = existsSync(join(root, "test/harness", `${server.toLowerCase()}.ts`));
      if (claimed) assert.ok(harness, `README claims interoperability with ${server}, but test/harness/${server.toLowerCase()}.ts does not exist`);
    }
    assert.match(readme, /against a real Synapse/);
  });

  it("names the pinned Dendrite version", () => {
    const pinned = readFileSync(join(root, "test/interop/DENDRITE_VERSION"), "utf8").trim().replace(/^v/, "");
    assert.match(readme, new RegExp(`\`test/interop/DENDRITE_VERSION\`, ${pinned.replace(/\./g, "\\.")},`));
  });

  it("names the pinned Synapse version", () => {
    const pinned = readFileSync(join(root, "test/interop/SYNAPSE_VERSION"), "utf8").trim();
    assert.match(readme, new RegExp(`\`test/interop/SYNAPSE_VERSION\`, ${pinned.replace(/\./g, "\\.")}\\)`));
  });

  it("gives every benchmark paragraph of the Performance section its date and load average", () => {
    const perf = /## Performance\n([\s\S]*?)\n## /.exec(readme)?.[1];
    assert.ok(perf, "a Performance section");
    assert.match(perf, /on (\d{4}-\d{2}-\d{2})/, "the date of the runs");
    for (const paragraph of perf.split(/\n\n/).filter((p) => /`npm run bench /.test(p))) {
      const dated = (/load average [0-9]/.test(paragraph) && /\d{2}:\d{2} UTC/.test(paragraph)) || /not rerun on \d{4}-\d{2}-\d{2}/.test(paragraph);
      assert.ok(dated, `no time and load average (or "not rerun on <date>") in: ${paragraph.slice(0, 120)}...`);
    }
  });
});
