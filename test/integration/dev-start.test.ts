/**
 * `zion start` with no config, as `npm start` runs it: a development server
 * for localhost, its data created under ./data on first run and reused after.
 * The test runs it in a temporary folder; ports are ephemeral (--client-port 0
 * --federation-port 0) on 127.0.1.3 so nothing else in the suite collides.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyJsonSignature } from "../../src/core/crypto/index.js";
import { decodeBase64 } from "../../src/core/json/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { parseLogLine, runZion, type ZionProcess } from "../harness/server.js";
import { httpCall } from "../harness/http-get.js";

const BIND = "127.0.1.3";
/** The repository (this file runs from dist/test/integration). */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

async function startDev(cwd: string): Promise<{ proc: ZionProcess; client: number; federation: number }> {
  const proc = runZion(["start", "--bind", BIND, "--client-port", "0", "--federation-port", "0"], { cwd });
  const ports: Record<string, number> = {};
  try {
    await proc.waitForLine((l) => {
      const m = parseLogLine(l);
      if (m?.["msg"] === "listening") ports[m["tls"] ? "federation" : "client"] = Number(m["port"]);
      return m?.["msg"] === "ready";
    }, 20_000);
  } catch (e) {
    await proc.kill();
    throw e;
  }
  return { proc, client: ports["client"]!, federation: ports["federation"]! };
}

describe("zion start with no config (development server)", () => {
  const cwd = mkdtempSync(join(tmpdir(), "zion-dev-"));
  after(() => rmSync(cwd, { recursive: true, force: true }));
  let firstKeyId = "";

  it("creates ./data and answers /health, client versions, federation version and a verifiable key over TLS", { timeout: 30_000 }, async () => {
    const { proc, client, federation } = await startDev(cwd);
    try {
      for (const f of ["localhost.signing.key", "localhost.tls.crt", "localhost.tls.key", "homeserver.db"]) {
        assert.ok(existsSync(join(cwd, "data", f)), `data/${f}`);
      }
      assert.match(proc.output.stderr, /created .*data\/localhost\.signing\.key/);
      const health = await httpCall(`http://${BIND}:${client}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body, "OK");
      const versions = await httpCall(`http://${BIND}:${client}/_matrix/client/versions`);
      assert.equal(versions.status, 200);
      assert.ok(Array.isArray(versions.json()["versions"]));
      // Federation is TLS with the generated self-signed certificate for localhost: trust exactly that certificate.
      const tls = { ca: readFileSync(join(cwd, "data", "localhost.tls.crt"), "utf8"), servername: "localhost" };
      const version = await httpCall(`https://${BIND}:${federation}/_matrix/federation/v1/version`, tls);
      assert.equal((version.json()["server"] as Record<string, unknown>)["name"], "Zion");
      const keys = (await httpCall(`https://${BIND}:${federation}/_matrix/key/v2/server`, tls)).json() as JsonObject;
      assert.equal(keys["server_name"], "localhost");
      const [keyId, entry] = Object.entries(keys["verify_keys"] as Record<string, { key: string }>)[0]!;
      assert.deepEqual(verifyJsonSignature(keys, "localhost", keyId, decodeBase64(entry.key)), { ok: true });
      firstKeyId = keyId;
      assert.equal((await httpCall(`http://${BIND}:${client}/_matrix/federation/v1/version`)).status, 404, "federation is on its own listener");
    } finally {
      assert.equal(await proc.stop(), 0, proc.output.stderr);
    }
  });

  it("keeps its identity across restarts: the same key, nothing created again; Ctrl-C (SIGINT) stops it gracefully", { timeout: 30_000 }, async () => {
    assert.ok(firstKeyId, "the first test ran");
    const { proc, federation } = await startDev(cwd);
    try {
      assert.doesNotMatch(proc.output.stderr, /created/);
      const tls = { ca: readFileSync(join(cwd, "data", "localhost.tls.crt"), "utf8"), servername: "localhost" };
      const keys = (await httpCall(`https://${BIND}:${federation}/_matrix/key/v2/server`, tls)).json();
      assert.deepEqual(Object.keys(keys["verify_keys"] as object), [firstKeyId]);
    } finally {
      assert.equal(await proc.interrupt(), 0, proc.output.stderr);
    }
    assert.match(proc.output.stdout, /"signal":"SIGINT","msg":"signal received: stopping"/);
    assert.match(proc.output.stdout, /"msg":"stopped"/);
  });
});

describe("README Quick start", () => {
  it("is exactly two commands, `npm ci && npm start` and `npm test`, and npm start runs the `zion start` tested above", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = /## Quick start\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "README.md has a Quick start sh block");
    const commands = block.split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter((l) => l !== "");
    assert.deepEqual(commands, ["npm ci && npm start", "npm test"]);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string>; bin: Record<string, string> };
    assert.equal(pkg.scripts["start"], `npm run build --silent && node ${pkg.bin["zion"]} start`, "npm start builds, then runs `zion start` with no config");
    assert.match(pkg.scripts["test"] ?? "", /^npm run build --silent && node scripts\/run-tests\.mjs$/, "npm test builds and runs the whole suite");
    assert.ok(existsSync(join(root, "package-lock.json")), "the lockfile npm ci needs is committed");
    assert.match(readFileSync(join(root, ".ci/run"), "utf8"), /^npm test$/m, ".ci/run runs the same test command");
  });
});
