/**
 * `zion register-user` (the CLI, as a child process) against a running Zion: it reads the shared secret from the
 * config (registration_shared_secret_path here), gets a nonce, signs, and the account exists with the admin flag
 * asked for; a wrong secret, a taken name, an unreachable server and missing options each exit with their code.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clientUrlOf } from "../../src/app/index.js";
import { parseConfig } from "../../src/config/index.js";
import type { UserId } from "../../src/core/ids/index.js";
import { scryptHasher } from "../../src/api/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { freePort } from "../harness/ports.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
/** Runs the CLI without blocking this process's event loop, where the server under test runs. */
const run = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [cli, "register-user", ...args], { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });

describe("zion register-user", () => {
  let zion: TestServer;
  let secretConfig: string;
  const secretDir = mkdtempSync(join(tmpdir(), "zion-secret-"));
  before(async () => {
    const secretFile = join(secretDir, "shared.secret");
    writeFileSync(secretFile, "a secret from a file\n");
    zion = await startTestServer({ config: { registration_shared_secret_path: secretFile }, startOptions: { passwordHasher: scryptHasher({ ln: 10 }) } });
    secretConfig = zion.configPath;
  });
  after(async () => {
    await zion?.stop();
    rmSync(secretDir, { recursive: true, force: true });
  });

  it("registers an admin through the running server with the config's shared secret", async () => {
    const r = await run(["-c", secretConfig, "-u", "operator", "-p", "op password", "-a", zion.clientUrl!]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Registered @operator:zion\.test/);
    const user = await zion.homeserver!.storage.users.getUser("@operator:zion.test" as UserId);
    assert.equal(user?.admin, true);
    const login = await fetch(`${zion.clientUrl}/_matrix/client/v3/login`, { method: "POST", body: JSON.stringify({ type: "m.login.password", user: "operator", password: "op password" }) });
    assert.equal(login.status, 200);
  });

  it("registers a regular user by default, and --exists-ok accepts a taken name", async () => {
    assert.equal((await run(["-c", secretConfig, "-u", "plain", "-p", "pw", zion.clientUrl!])).status, 0);
    assert.equal((await zion.homeserver!.storage.users.getUser("@plain:zion.test" as UserId))?.admin, false);
    const again = await run(["-c", secretConfig, "-u", "plain", "-p", "pw", zion.clientUrl!]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /M_USER_IN_USE/);
    const ok = await run(["-c", secretConfig, "-u", "plain", "-p", "pw", "--exists-ok", zion.clientUrl!]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /exists already/);
  });

  it("fails with exit 1 on a wrong secret or an unreachable server, and exit 2 on missing options", async () => {
    const wrong = await run(["-k", "not the secret", "-u", "intruder", "-p", "pw", zion.clientUrl!]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /403 M_FORBIDDEN/);
    assert.equal(await zion.homeserver!.storage.users.getUser("@intruder:zion.test" as UserId), null);
    const down = await run(["-k", "x", "-u", "a", "-p", "b", `http://127.0.0.1:${await freePort("127.0.0.1")}`]);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach/);
    assert.equal((await run(["-c", secretConfig, "-p", "pw"])).status, 2, "no -u");
    assert.equal((await run(["-u", "a", "-p", "b"])).status, 2, "neither -c nor -k");
  });

  it("finds the client listener's URL in the config as register_new_matrix_user does", () => {
    const config = (listeners: unknown[]) => parseConfig(JSON.stringify({ server_name: "x.test", listeners, signing_key_path: "/tmp/k", tls_certificate_path: "/tmp/c", tls_private_key_path: "/tmp/p", database: { name: "sqlite3", args: { database: ":memory:" } } }), { baseDir: "/tmp" });
    assert.equal(clientUrlOf(config([{ port: 8008, type: "http", bind_addresses: ["::", "0.0.0.0"], resources: [{ names: ["client"] }] }])), "http://[::1]:8008");
    assert.equal(clientUrlOf(config([{ port: 8448, type: "http", tls: true, resources: [{ names: ["federation"] }] }, { port: 9000, type: "http", bind_addresses: ["127.0.0.5"], resources: [{ names: ["client"] }] }])), "http://127.0.0.5:9000");
    assert.equal(clientUrlOf(config([{ port: 8448, type: "http", resources: [{ names: ["federation"] }] }])), undefined);
  });
});
