/**
 * The Synapse peer itself (issue 6, part 1): the pinned Synapse starts with a certificate from the test CA on an
 * IP-literal name, serves its server keys over TLS to a client that trusts only that CA, and registers users both ways.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { pinnedSynapseVersion, requestJson, startSynapse, type SynapseHandle } from "../harness/synapse.js";

const HOST = "127.0.4.1";

describe("Synapse peer harness", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let synapse: SynapseHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-synapse-peer-"));
    ca = await createTestCa(join(dir, "ca"));
    const leaf = await ca.issue({ ip: [HOST], name: "synapse" });
    synapse = await startSynapse({
      dir: join(dir, "hs"),
      bindHost: HOST,
      caCertPath: ca.caCertPath,
      certPath: leaf.chainPath,
      keyPath: leaf.keyPath,
    });
    console.log(`# Synapse ${synapse.version} (pinned ${pinnedSynapseVersion()}) as ${synapse.serverName}`);
  });

  after(async () => {
    await synapse?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the pinned Synapse version", () => {
    assert.equal(synapse!.version.split(" ")[0], pinnedSynapseVersion());
  });

  it("serves its server keys over TLS to a client trusting only the test CA", async () => {
    const r = await synapse!.federation("GET", "/_matrix/key/v2/server");
    assert.equal(r.status, 200, r.text);
    const body = r.json as { server_name?: unknown; verify_keys?: Record<string, { key?: unknown }>; valid_until_ts?: unknown };
    assert.equal(body.server_name, synapse!.serverName);
    assert.ok(Object.keys(body.verify_keys ?? {}).some((k) => k.startsWith("ed25519:")), r.text);
    assert.equal(typeof body.valid_until_ts, "number");
  });

  it("is refused by a client that does not trust the test CA", async () => {
    await assert.rejects(
      requestJson(`${synapse!.federationUrl}/_matrix/key/v2/server`, { timeoutMs: 5000 }),
      /self[- ]signed|unable to get local issuer|certificate/i,
    );
  });

  it("logs a registered user in with a password, and refuses a wrong one", async () => {
    await synapse!.registerUser({ username: "carol", password: "pw-carol" });
    const carol = await synapse!.login("carol", "pw-carol");
    assert.equal(carol.userId, `@carol:${synapse!.serverName}`);
    await assert.rejects(synapse!.login("carol", "wrong"), /403/);
  });

  it("reaches the admin reset_connection API with a harness admin (404 for a destination never contacted)", async () => {
    assert.equal(await synapse!.resetFederationBackoff("never-contacted.example"), 404);
  });

  it("registers users through the shared-secret admin API and through open registration", async () => {
    const admin = await synapse!.registerUser({ username: "Admin1", admin: true });
    assert.equal(admin.userId, `@admin1:${synapse!.serverName}`);
    const open = await synapse!.registerUser({ username: "bob", via: "open" });
    assert.equal(open.userId, `@bob:${synapse!.serverName}`);
    const who = await synapse!.client("GET", "/_matrix/client/v3/account/whoami", { token: open.accessToken });
    assert.equal(who.status, 200, who.text);
    assert.equal((who.json as { user_id?: unknown }).user_id, open.userId);
  });
});

describe("Synapse peer harness: name resolution in a private mount namespace", { timeout: 300_000 }, () => {
  // A (IP literal) runs with a private /etc/hosts naming B; B has a DNS name with an explicit port and a certificate
  // for that name only. A's user asks for a profile on B: A must resolve B by name, check B's DNS SAN, and B must
  // fetch A's keys and accept A's X-Matrix signature; B answers 404 M_NOT_FOUND for the unknown user.
  const HOST_A = "127.0.4.2";
  const HOST_B = "127.0.4.3";
  let dir: string;
  let a: SynapseHandle | undefined;
  let b: SynapseHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-synapse-ns-"));
    const ca = await createTestCa(join(dir, "ca"));
    const leafA = await ca.issue({ ip: [HOST_A], name: "a" });
    const leafB = await ca.issue({ dns: ["synapse-b.interop.test"], name: "b" });
    const { freePort } = await import("../harness/synapse.js");
    const portB = await freePort(HOST_B);
    b = await startSynapse({
      dir: join(dir, "b"),
      bindHost: HOST_B,
      serverName: `synapse-b.interop.test:${portB}`,
      ports: { federation: portB },
      caCertPath: ca.caCertPath,
      certPath: leafB.chainPath,
      keyPath: leafB.keyPath,
    });
    a = await startSynapse({
      dir: join(dir, "a"),
      bindHost: HOST_A,
      caCertPath: ca.caCertPath,
      certPath: leafA.chainPath,
      keyPath: leafA.keyPath,
      namespace: { hosts: [`${HOST_B} synapse-b.interop.test`] },
    });
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets Synapse resolve a peer through hosts entries that exist only in its namespace", async () => {
    const alice = await a!.registerUser({ username: "alice" });
    const r = await a!.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@nobody:${b!.serverName}`)}`, {
      token: alice.accessToken,
    });
    assert.equal(r.status, 404, r.text);
    assert.equal((r.json as { errcode?: unknown }).errcode, "M_NOT_FOUND", r.text);
    // B really received the request and authenticated A as its origin: Synapse's access log puts the authenticated
    // entity in braces.
    const line = b!.log().split("\n").find((l) => l.includes('"GET /_matrix/federation/v1/query/profile'));
    assert.ok(line, b!.logTail(30));
    assert.ok(line.includes(`{${a!.serverName}}`), line);
    assert.ok(!readFileSync("/etc/hosts", "utf8").includes("synapse-b.interop.test"), "the machine's /etc/hosts is untouched");
  });
});
