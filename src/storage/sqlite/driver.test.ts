/**
 * The driver choice, with Node's own module resolution over a real node_modules tree: a copy of ours, as npm leaves
 * it under Node 20 (no better-sqlite3-node22) or under Node 22+ (with it).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadDriver, pickDriver } from "./driver.js";

const ours = createRequire(import.meta.url);
const real12 = dirname(ours.resolve("better-sqlite3/package.json"));

describe("pickDriver", () => {
  let dir: string;
  const tree = (name: string, withNode22: boolean): NodeJS.Require => {
    const root = join(dir, name);
    mkdirSync(join(root, "node_modules"), { recursive: true });
    symlinkSync(real12, join(root, "node_modules", "better-sqlite3"));
    // Under Node 22+ npm installs better-sqlite3 13 under the alias; only its resolution is tested here (this Node
    // may not run 13), so a package directory of that name stands for it.
    if (withNode22) {
      const alias = join(root, "node_modules", "better-sqlite3-node22");
      mkdirSync(alias);
      writeFileSync(join(alias, "package.json"), JSON.stringify({ name: "better-sqlite3", version: "13.0.0", main: "index.js" }));
      writeFileSync(join(alias, "index.js"), "");
    }
    writeFileSync(join(root, "index.js"), "");
    return createRequire(join(root, "index.js"));
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "zion-driver-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("stops on Node 22 and later when node_modules was installed under Node 20, saying to run npm ci", () => {
    const req = tree("installed-on-20", false);
    for (const node of ["24.19.0", "22.12.0"]) {
      const c = pickDriver(node, req);
      assert.equal(c.ok, false, `Node ${node} must not fall back to better-sqlite3 12`);
      if (!c.ok) {
        assert.match(c.message, new RegExp(`^Node ${node.replace(/\./g, "\\.")} needs better-sqlite3 13`));
        assert.match(c.message, /Run `npm ci` \(or `npm install`\) again with this Node/);
      }
      assert.equal(loadDriver(c, req).ok, false);
    }
  });

  it("picks better-sqlite3-node22 on Node 22 and later when it is installed", () => {
    const c = pickDriver("24.19.0", tree("installed-on-24", true));
    assert.ok(c.ok);
    assert.match(c.path, /installed-on-24\/node_modules\/better-sqlite3-node22\//);
  });

  it("picks better-sqlite3 12 on Node 20, and loads it", () => {
    const req = tree("node-20", false);
    const c = pickDriver("20.18.1", req);
    assert.ok(c.ok);
    assert.ok(c.path.startsWith(real12), c.path); // through the tree's link to our better-sqlite3 12
    if (process.versions.node.startsWith("20.")) {
      const l = loadDriver(c, req);
      assert.ok(l.ok && typeof l.Database === "function");
    }
  });
});
