/**
 * The tester must follow the server's own resolution and HTTP code (federation/discovery, federation/tls,
 * federation/transport), never a second copy that could drift: no file of src/tester may reach DNS or HTTP
 * itself. (Its one raw TLS connection, tls-inspect's look-only handshake, only reads certificates.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../src/tester");
const FORBIDDEN = /from\s+"(node:)?(dns|dns\/promises|http|https|http2|undici)"|import\(\s*"(node:)?(dns|http|https|undici)/;

describe("the tester reuses the server's discovery and HTTPS code", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

  it("has no file that does its own DNS lookups or HTTP requests", () => {
    assert.ok(files.length > 10, `found ${files.length} files`);
    const offenders = files.filter((f) => FORBIDDEN.test(readFileSync(join(dir, f), "utf8")));
    assert.deepEqual(offenders, []);
    assert.ok(FORBIDDEN.test('import { Resolver } from "node:dns/promises";'), "the pattern catches a DNS import");
  });

  it("resolves through federation/discovery's ServerResolver and fetches through federation/tls's HttpsClient", () => {
    const text = readFileSync(join(dir, "federation-test.ts"), "utf8");
    assert.match(text, /import \{[^}]*\bServerResolver\b[^}]*\} from "\.\.\/federation\/discovery\/index\.js"/);
    assert.match(text, /import \{[^}]*\bHttpsClient\b[^}]*\} from "\.\.\/federation\/tls\/https-client\.js"/);
    assert.match(text, /new ServerResolver\(/);
  });
});
