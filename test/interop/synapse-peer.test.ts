/**
 * The Synapse peer itself (issue 6, part 1): the pinned Synapse starts with a certificate from the test CA on an
 * IP-literal name, serves its server keys over TLS to a client that trusts only that CA, and registers users both ways.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { pinnedSynapseVersion, requestJson, startSynapse, type SynapseHandle } from "../harness/synapse.js";

const HOST = "127.0.4.1";

describe("Synapse peer harness", { timeout: 120_000 }, () => {
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
