/**
 * Every package `npm ci` installs on every supported Node accepts that Node in its `engines` field, so the install
 * prints no EBADENGINE warning and nothing runs on a Node it does not support (issue 11 item 17: cookie 2, pulled in
 * by fastify's inject helper, required Node 22). Optional packages are skipped: npm leaves them out where their
 * engines do not match (better-sqlite3-node22 is meant for Node 22 and later only).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, "utf8")) as {
  packages: Record<string, { version?: string; optional?: boolean; engines?: { node?: string } | string[] }>;
};

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, "").split(".").map((x) => (x === "x" || x === "*" ? 0 : Number(x)));
  return [a, b, c];
};
const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The subset of npm's range syntax the lock file uses: `||`, `>=`, `<`, `^`, `N.x`, `*`, exact versions. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split("||").some((alt) => {
    const parts = alt.trim().replace(/(>=|<=|>|<|\^)\s+/g, "$1").split(/\s+/).filter(Boolean);
    return parts.every((c) => {
      if (c === "*" || c === "x") return true;
      const m = /^(>=|<=|>|<|\^)?(.+)$/.exec(c)!;
      const w = parse(m[2]!);
      switch (m[1]) {
        case ">=": return cmp(v, w) >= 0;
        case ">": return cmp(v, w) > 0;
        case "<=": return cmp(v, w) <= 0;
        case "<": return cmp(v, w) < 0;
        case "^": return cmp(v, w) >= 0 && v[0] === w[0];
      }
      // "20.x" or an exact version: the fields given must match.
      const given = m[2]!.split(".").filter((x) => x !== "x" && x !== "*").length;
      return v.slice(0, given).every((n, i) => n === w[i]);
    });
  });
}

describe("installed packages' engines", () => {
  it("reads the ranges the lock file uses as npm does", () => {
    assert.ok(satisfies("20.18.1", ">=20.18.1") && !satisfies("20.18.0", ">=20.18.1"));
    assert.ok(satisfies("20.18.1", "20.x || 22.x") && !satisfies("21.0.0", "20.x || 22.x"));
    assert.ok(satisfies("20.18.1", "^18 || ^20 || >= 21") && !satisfies("19.1.0", "^18 || ^20 || >= 21"));
    assert.ok(!satisfies("20.18.1", ">=22") && satisfies("24.0.0", ">= 22"));
  });

  // The oldest Node package.json promises, and the newest line CI runs (scripts/test-node24.sh).
  const minimum = /^>=\s*([0-9.]+)$/.exec(pkg.engines.node)?.[1];
  for (const node of [minimum ?? "missing", "24.0.0"]) {
    it(`accepts Node ${node} in every non-optional package of package-lock.json`, () => {
      assert.ok(minimum, `package.json engines.node is ${pkg.engines.node}, expected ">=X.Y.Z"`);
      const refused: string[] = [];
      for (const [path, p] of Object.entries(lock.packages)) {
        const range = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
        if (path === "" || p.optional || range === undefined) continue;
        if (!satisfies(node, range)) refused.push(`${path.replace(/^.*node_modules\//, "")}@${p.version} requires node ${range}`);
      }
      assert.deepEqual(refused, []);
    });
  }

  it("keeps fastify's inject helper working with the cookie version package.json's overrides pin", async () => {
    // light-my-request is what fastify's inject runs; its cookie encoding is the code that cookie 2 would provide.
    const require = createRequire(import.meta.url);
    const inject = require("light-my-request") as (
      dispatch: (req: { headers: Record<string, string | undefined> }, res: { end(s: string): void }) => void,
      opts: { url: string; cookies: Record<string, string> },
    ) => Promise<{ payload: string }>;
    const r = await inject((req, res) => res.end(req.headers["cookie"] ?? ""), { url: "/", cookies: { session: "a b", other: "1" } });
    assert.equal(r.payload, "session=a%20b; other=1");
    const cookiePkg = JSON.parse(readFileSync(require.resolve("cookie/package.json", { paths: [require.resolve("light-my-request")] }), "utf8")) as { version: string };
    assert.ok(satisfies(cookiePkg.version, "^1.1.1"), `light-my-request loads cookie ${cookiePkg.version}`);
  });
});
