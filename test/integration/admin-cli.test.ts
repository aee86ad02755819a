/**
 * `zion admin` against a real homeserver.yaml (from `zion generate-config`) and its SQLite database, with no server
 * running: users and registration tokens are managed through the admin service, each refusal exits 1 with the Matrix
 * error and writes nothing, usage errors exit 2; then `zion start` on the same files lets the CLI-made admin use the
 * admin API.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runZion } from "../harness/server.js";
import { freePort } from "../harness/ports.js";
import { clientCaller } from "../harness/http-get.js";

describe("zion admin (CLI on the database)", () => {
  const dir = mkdtempSync(join(tmpdir(), "zion-admin-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "homeserver.yaml");
  let port = 0;
  const admin = async (...args: string[]) => {
    const p = runZion(["admin", ...args], { cwd: dir });
    const status = await p.exited();
    return { status, stdout: p.output.stdout, stderr: p.output.stderr };
  };

  it("creates, lists, shows, promotes, resets and deactivates users, with exit 1 and nothing written on refusal", { timeout: 120_000 }, async () => {
    port = await freePort("127.0.0.1");
    const gen = runZion(["generate-config", "--server-name", "cli.test", "--config-path", configPath, "--client-port", String(port), "--federation-port", "0"], { cwd: dir });
    assert.equal(await gen.exited(), 0, gen.output.stderr);

    const made = await admin("users", "create", "alice", "-c", configPath, "-p", "alice password 1", "-a", "--displayname", "Alice");
    assert.equal(made.status, 0, made.stderr);
    const alice = JSON.parse(made.stdout) as Record<string, unknown>;
    assert.equal(alice["name"], "@alice:cli.test");
    assert.equal(alice["admin"], true);
    assert.equal(alice["displayname"], "Alice");

    const again = await admin("users", "create", "alice", "-c", configPath, "-p", "other 1");
    assert.equal(again.status, 1);
    assert.match(again.stderr, /M_USER_IN_USE/);
    assert.equal((await admin("users", "create", "Bad Name", "-c", configPath)).status, 1);
    assert.equal((await admin("users", "create", "bob", "-c", configPath, "-p", "bob password 1")).status, 0);

    const list = await admin("users", "list", "-c", configPath);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout, "@alice:cli.test admin (Alice)\n@bob:cli.test (bob)\n2 of 2 users\n");
    const json = JSON.parse((await admin("users", "list", "-c", configPath, "--json", "--admins")).stdout) as { users: { name: string }[]; total: number };
    assert.deepEqual(json.users.map((u) => u.name), ["@alice:cli.test"]);
    assert.equal(json.total, 1);

    const ghost = await admin("users", "show", "@ghost:cli.test", "-c", configPath);
    assert.equal(ghost.status, 1);
    assert.match(ghost.stderr, /M_NOT_FOUND/);
    const remote = await admin("users", "show", "@x:elsewhere.test", "-c", configPath);
    assert.equal(remote.status, 1);
    assert.match(remote.stderr, /M_INVALID_PARAM/);

    assert.equal((await admin("users", "set-admin", "bob", "maybe", "-c", configPath)).status, 2);
    assert.equal((await admin("users", "set-admin", "bob", "true", "-c", configPath)).status, 0);
    assert.equal((JSON.parse((await admin("users", "show", "bob", "-c", configPath)).stdout) as { admin: boolean }).admin, true);
    assert.equal((await admin("users", "set-admin", "bob", "false", "-c", configPath)).status, 0);
    assert.equal((await admin("users", "reset-password", "bob", "-c", configPath)).status, 2, "no -p is a usage error");
    assert.equal((await admin("users", "reset-password", "bob", "-c", configPath, "-p", "bob password 2")).status, 0);

    const carol = await admin("users", "create", "carol", "-c", configPath, "-p", "carol password 1");
    assert.equal(carol.status, 0, carol.stderr);
    const off = await admin("users", "deactivate", "carol", "-c", configPath);
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /Deactivated @carol:cli\.test; it left 0 room/);
    assert.doesNotMatch((await admin("users", "list", "-c", configPath)).stdout, /carol/);
    assert.match((await admin("users", "list", "-c", configPath, "--deactivated")).stdout, /@carol:cli\.test deactivated/);

    assert.equal((await admin("users", "list")).status, 2, "without -c");
    assert.equal((await admin("users", "list", "-c", join(dir, "missing.yaml"))).status, 2);
  });

  it("creates, lists and deletes registration tokens; bad values exit 2 or 1 without writing", { timeout: 60_000 }, async () => {
    const t = await admin("registration-tokens", "create", "-c", configPath, "--token", "welcome", "--uses-allowed", "3");
    assert.equal(t.status, 0, t.stderr);
    assert.deepEqual(JSON.parse(t.stdout), { token: "welcome", uses_allowed: 3, pending: 0, completed: 0, expiry_time: null });
    const random = JSON.parse((await admin("registration-tokens", "create", "-c", configPath, "--length", "8")).stdout) as { token: string };
    assert.equal(random.token.length, 8);
    assert.equal((await admin("registration-tokens", "create", "-c", configPath, "--uses-allowed", "-1")).status, 2);
    const dup = await admin("registration-tokens", "create", "-c", configPath, "--token", "welcome");
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /M_INVALID_PARAM/);
    assert.equal((await admin("registration-tokens", "create", "-c", configPath, "--token", "bad token")).status, 1);
    const list = await admin("registration-tokens", "list", "-c", configPath, "--json");
    const tokens = (JSON.parse(list.stdout) as { registration_tokens: { token: string }[] }).registration_tokens.map((x) => x.token);
    assert.deepEqual(tokens, [random.token, "welcome"].sort());
    assert.match((await admin("registration-tokens", "list", "-c", configPath)).stdout, /^welcome 3 allowed, 0 completed, 0 pending, never expires$/m);
    assert.equal((await admin("registration-tokens", "delete", "welcome", "-c", configPath)).status, 0);
    const gone = await admin("registration-tokens", "delete", "welcome", "-c", configPath);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /M_NOT_FOUND/);
  });

  it("`zion start` on the same files: the admin made by the CLI logs in and lists users through the admin API", { timeout: 60_000 }, async () => {
    const server = runZion(["start", "-c", configPath], { cwd: dir });
    try {
      await server.waitForLine((l) => l.includes('"ready"') || l.includes("ready"), 30_000);
      const call = clientCaller(() => `http://127.0.0.1:${port}`);
      const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: "alice password 1" });
      assert.equal(login.status, 200, login.body);
      const bob = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "bob" }, password: "bob password 2" });
      assert.equal(bob.status, 200, "the password reset by the CLI works");
      const users = await call("GET", "/_synapse/admin/v2/users?deactivated=true", undefined, String(login.json()["access_token"]));
      assert.equal(users.status, 200, users.body);
      assert.deepEqual((users.json()["users"] as { name: string }[]).map((u) => u.name), ["@alice:cli.test", "@bob:cli.test", "@carol:cli.test"]);
    } finally {
      await server.stop();
    }
  });

  it("rooms: lists a room made while the server ran, deletes and blocks it while stopped; the restarted server has purged it and refuses joins", { timeout: 120_000 }, async () => {
    const call = clientCaller(() => `http://127.0.0.1:${port}`);
    const start = async () => {
      const server = runZion(["start", "-c", configPath], { cwd: dir });
      await server.waitForLine((l) => l.includes('"ready"') || l.includes("ready"), 30_000);
      const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: "alice password 1" });
      assert.equal(login.status, 200, login.body);
      return { server, token: String(login.json()["access_token"]) };
    };
    let { server, token } = await start();
    const made = await call("POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: "CLI lobby", room_alias_name: "clilobby" }, token);
    assert.equal(made.status, 200, made.body);
    const roomId = String(made.json()["room_id"]);
    await server.stop();

    const list = await admin("rooms", "list", "-c", configPath);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout, `${roomId} 1 joined (1 local) "CLI lobby" #clilobby:cli.test\n1 of 1 rooms\n`);
    assert.equal((await admin("rooms", "delete", "not-a-room", "-c", configPath)).status, 2);
    const unknown = await admin("rooms", "delete", "!nothere:cli.test", "-c", configPath);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /M_NOT_FOUND/);
    const del = await admin("rooms", "delete", roomId, "-c", configPath, "--block");
    assert.equal(del.status, 0, del.stderr);
    assert.deepEqual(JSON.parse(del.stdout), { kicked_users: ["@alice:cli.test"], failed_to_kick_users: [], local_aliases: ["#clilobby:cli.test"], new_room_id: null });
    assert.equal((await admin("rooms", "list", "-c", configPath)).stdout, "0 of 0 rooms\n");

    ({ server, token } = await start());
    try {
      assert.deepEqual((await call("GET", "/_matrix/client/v3/joined_rooms", undefined, token)).json()["joined_rooms"], []);
      const join = await call("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {}, token);
      assert.equal(join.status, 403, join.body);
      assert.equal(join.json()["errcode"], "M_FORBIDDEN");
      const block = await call("GET", `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/block`, undefined, token);
      assert.deepEqual(block.json(), { block: true }, "blocked by the CLI, which is no user");
      assert.equal((await admin("rooms", "unblock", roomId, "-c", configPath)).status, 0, "works while the server runs");
      assert.deepEqual((await call("GET", `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/block`, undefined, token)).json(), { block: false });
    } finally {
      await server.stop();
    }
  });

  it("media and destinations: lists and quarantines an upload made while the server ran, deletes it; bad input exits 2 or 1", { timeout: 120_000 }, async () => {
    const call = clientCaller(() => `http://127.0.0.1:${port}`);
    const server = runZion(["start", "-c", configPath], { cwd: dir });
    let mxc = "";
    let token = "";
    try {
      await server.waitForLine((l) => l.includes('"ready"') || l.includes("ready"), 30_000);
      const login = await call("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: "alice password 1" });
      token = String(login.json()["access_token"]);
      const up = await call("POST", "/_matrix/media/v3/upload?filename=cli.json", '{"cli":true}', token);
      assert.equal(up.status, 200, up.body);
      mxc = String(up.json()["content_uri"]);
    } finally {
      await server.stop();
    }
    const list = await admin("media", "list", "alice", "-c", configPath);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout, `${mxc} application/json 12 bytes "cli.json"\n1 of 1 media\n`);
    assert.equal((await admin("media", "quarantine", "not-an-mxc", "-c", configPath)).status, 2);
    const unknown = await admin("media", "quarantine", "mxc://cli.test/NoSuchMedia", "-c", configPath);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /M_NOT_FOUND/);
    assert.equal((await admin("media", "quarantine", mxc, "-c", configPath)).status, 0);
    assert.match((await admin("media", "list", "alice", "-c", configPath)).stdout, / quarantined\n/);

    const restarted = runZion(["start", "-c", configPath], { cwd: dir });
    try {
      await restarted.waitForLine((l) => l.includes('"ready"') || l.includes("ready"), 30_000);
      const r = await call("GET", `/_matrix/client/v1/media/download/${mxc.slice("mxc://".length)}`, undefined, token);
      assert.equal(r.status, 404, "quarantined by the CLI");
    } finally {
      await restarted.stop();
    }
    assert.equal((await admin("media", "unquarantine", mxc, "-c", configPath)).status, 0);
    assert.equal((await admin("media", "delete", mxc, "-c", configPath)).status, 0);
    assert.equal((await admin("media", "list", "alice", "-c", configPath)).stdout, "0 of 0 media\n");
    assert.equal((await admin("media", "delete", "mxc://elsewhere.test/abc", "-c", configPath)).status, 1, "only local media");

    assert.equal((await admin("destinations", "list", "-c", configPath)).stdout, "0 of 0 destinations\n");
    const reset = await admin("destinations", "reset", "never.test", "-c", configPath);
    assert.equal(reset.status, 1);
    assert.match(reset.stderr, /M_NOT_FOUND/);
  });
});
