/**
 * Synapse's own register_new_matrix_user (the pinned Synapse's synapse._scripts.register_new_matrix_user, run from
 * its virtualenv) registers users on Zion: its nonce request, HMAC-SHA1 and JSON body are accepted by Zion's
 * /_synapse/admin/v1/register, with the secret given by -k or read from Zion's homeserver.yaml by -c, admin or not.
 * A wrong secret is refused and writes nothing.
 */
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { scryptHasher } from "../../src/api/index.js";
import type { UserId } from "../../src/core/ids/index.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { synapsePython, withoutProxies } from "../harness/synapse.js";

const SECRET = "interop shared secret";

describe("Synapse's register_new_matrix_user against Zion", () => {
  let zion: TestServer;
  let python: string;
  before(async () => {
    python = synapsePython();
    zion = await startTestServer({ config: { registration_shared_secret: SECRET }, startOptions: { passwordHasher: scryptHasher({ ln: 10 }) } });
  });
  after(() => zion?.stop());

  const script = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(python, ["-m", "synapse._scripts.register_new_matrix_user", ...args], { encoding: "utf8", timeout: 120_000, env: withoutProxies(process.env) }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const user = (local: string) => zion.homeserver!.storage.users.getUser(`@${local}:zion.test` as UserId);
  const login = (local: string, password: string) =>
    fetch(`${zion.clientUrl}/_matrix/client/v3/login`, { method: "POST", body: JSON.stringify({ type: "m.login.password", user: local, password }) });

  it("registers an admin with -k SECRET -a", async () => {
    const r = await script(["-u", "synadmin", "-p", "pw from synapse", "-a", "-k", SECRET, zion.clientUrl!]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Success/);
    assert.equal((await user("synadmin"))?.admin, true);
    assert.equal((await login("synadmin", "pw from synapse")).status, 200);
  });

  it("registers a regular user with the secret read from Zion's homeserver.yaml by -c (and a user type in the MAC)", async () => {
    const r = await script(["-u", "synuser", "-p", "pw 2", "--no-admin", "-t", "bot", "-c", zion.configPath, zion.clientUrl!]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal((await user("synuser"))?.admin, false);
  });

  it("is refused with a wrong secret (Zion answers 403 HMAC incorrect) and nothing is written", async () => {
    const r = await script(["-u", "synbad", "-p", "pw", "--no-admin", "-k", "wrong secret", zion.clientUrl!]);
    assert.notEqual(r.code, 0);
    assert.match(`${r.stdout}${r.stderr}`, /HMAC incorrect|403/);
    assert.equal(await user("synbad"), null);
  });
});
