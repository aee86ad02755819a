/**
 * Server keys between Zion and a real Synapse, both directions (issue 6, scenario 1):
 * - Synapse fetches Zion's keys directly and accepts them; Zion fetches Synapse's keys directly and verifies them.
 * - Each acts as notary for the other, and the other verifies the notary signature.
 * https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys
 *
 * Cast (IP-literal names, certificates from one test CA):
 *   S1 127.0.4.10  Synapse, no trusted key servers (keys come from each origin)
 *   Z  127.0.4.11  Zion, trusting S1 as its notary
 *   Z2 127.0.4.12  a second Zion, a third party whose keys the notaries are asked about
 *   S2 127.0.4.13  Synapse trusting Z as its notary (trusted_key_servers with Z's verify key)
 *   S3 127.0.4.14  Synapse trusting Z as its notary but configured with a wrong key for it (the negative control)
 *   Z3 127.0.4.15  Zion trusting S1 as its notary but configured with a wrong key for it (the negative control)
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publicKeyBase64, verifyJsonSignature } from "../../src/core/crypto/index.js";
import { newSigningKey } from "../../src/app/index.js";
import type { KeyId, ServerName } from "../../src/core/ids/index.js";
import { decodeBase64, type JsonObject } from "../../src/core/json/index.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { freePort, pinnedSynapseVersion, requestJson, startSynapse, synapsePython, type SynapseHandle } from "../harness/synapse.js";
import { startZionPeer, type ZionPeer } from "./zion-peer.js";

interface KeyResponse extends JsonObject {
  server_name: string;
  valid_until_ts: number;
  verify_keys: Record<string, { key: string }>;
}

const sn = (s: string) => s as ServerName;

function onlyKey(r: KeyResponse): { id: string; key: Uint8Array; b64: string } {
  const ids = Object.keys(r.verify_keys);
  assert.equal(ids.length, 1, JSON.stringify(r));
  const b64 = r.verify_keys[ids[0]!]!.key;
  return { id: ids[0]!, key: decodeBase64(b64), b64 };
}

/** Which server Synapse says it got a key response from (its server_keys_json table). */
function synapseKeySource(s: SynapseHandle, server: string): string[] {
  const py = spawnSync(synapsePython(), ["-c", [
    "import sqlite3, sys, json",
    "db = sqlite3.connect(sys.argv[1])",
    "print(json.dumps([r[0] for r in db.execute('SELECT from_server FROM server_keys_json WHERE server_name = ?', (sys.argv[2],))]))",
  ].join("\n"), join(s.dir, "homeserver.db"), server], { encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  return JSON.parse(py.stdout) as string[];
}

/**
 * How many key queries Synapse's access log shows, once there are more than `than` (polled up to 30 s: the line is
 * written after the response, so a caller may already hold the answer).
 */
async function keyQueriesSeenBy(s: SynapseHandle, than = -1): Promise<number> {
  const count = () => s.log().split("\n").filter((l) => l.includes('"POST /_matrix/key/v2/query')).length;
  const deadline = Date.now() + 30_000;
  while (count() <= than && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return count();
}

const requestLines = (z: ZionPeer, method: string, pathPrefix: string) =>
  z.logs().filter((l) => l["msg"] === "request" && l["method"] === method && String(l["path"]).startsWith(pathPrefix));

describe("server keys and notaries between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let s1: SynapseHandle | undefined;
  let s2: SynapseHandle | undefined;
  let s3: SynapseHandle | undefined;
  let z: ZionPeer | undefined;
  let z2: ZionPeer | undefined;
  let z3: ZionPeer | undefined;
  let s1Keys: KeyResponse;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-interop-keys-"));
    ca = await createTestCa(join(dir, "ca"));
    const s1Port = await freePort("127.0.4.10");
    const s1Name = `127.0.4.10:${s1Port}`;
    const leaf1 = await ca.issue({ ip: ["127.0.4.10"], name: "s1" });
    s1 = await startSynapse({
      dir: join(dir, "s1"), bindHost: "127.0.4.10", ports: { federation: s1Port },
      caCertPath: ca.caCertPath, certPath: leaf1.chainPath, keyPath: leaf1.keyPath,
    });
    console.log(`# Synapse ${s1.version} (pinned ${pinnedSynapseVersion()})`);
    s1Keys = (await s1.federation("GET", "/_matrix/key/v2/server")).json as KeyResponse;
    z = await startZionPeer({
      ca, host: "127.0.4.11",
      // Z's notary is S1, whose key Z is told up front (as an operator would copy it from S1's key response).
      config: { trusted_key_servers: [{ server_name: s1Name, verify_keys: { [onlyKey(s1Keys).id]: onlyKey(s1Keys).b64 } }] },
    });
    z2 = await startZionPeer({ ca, host: "127.0.4.12" });
    z3 = await startZionPeer({
      ca, host: "127.0.4.15",
      config: { trusted_key_servers: [{ server_name: s1Name, verify_keys: { [onlyKey(s1Keys).id]: publicKeyBase64(newSigningKey()) } }] },
    });
    const leaf2 = await ca.issue({ ip: ["127.0.4.13"], name: "s2" });
    s2 = await startSynapse({
      dir: join(dir, "s2"), bindHost: "127.0.4.13",
      caCertPath: ca.caCertPath, certPath: leaf2.chainPath, keyPath: leaf2.keyPath,
      extraConfig: { trusted_key_servers: [{ server_name: z.serverName, verify_keys: { [z.keyId]: z.publicKey } }] },
    });
    const leaf3 = await ca.issue({ ip: ["127.0.4.14"], name: "s3" });
    s3 = await startSynapse({
      dir: join(dir, "s3"), bindHost: "127.0.4.14",
      caCertPath: ca.caCertPath, certPath: leaf3.chainPath, keyPath: leaf3.keyPath,
      extraConfig: { trusted_key_servers: [{ server_name: z.serverName, verify_keys: { [z.keyId]: publicKeyBase64(newSigningKey()) } }] },
    });
  });

  after(async () => {
    await s3?.stop();
    await s2?.stop();
    await s1?.stop();
    await z3?.stop();
    await z2?.stop();
    await z?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Synapse fetches Zion's keys directly, accepts them, and answers for them as notary", async () => {
    const before = requestLines(z!, "GET", "/_matrix/key/v2/server").length;
    const r = await s1!.federation("POST", "/_matrix/key/v2/query", {
      body: { server_keys: { [z!.serverName]: { [z!.keyId]: { minimum_valid_until_ts: Date.now() } } } },
    });
    assert.equal(r.status, 200, r.text);
    const list = (r.json as { server_keys: KeyResponse[] }).server_keys;
    assert.equal(list.length, 1, `Synapse did not accept Zion's key response: ${r.text}\n${s1!.logTail(20)}`);
    const k = list[0]!;
    assert.equal(k.server_name, z!.serverName);
    assert.equal(k.verify_keys[z!.keyId]?.key, z!.publicKey);
    // Zion's own signature survived Synapse's storage byte for byte ...
    assert.deepEqual(verifyJsonSignature(k, z!.serverName, z!.keyId, decodeBase64(z!.publicKey)), { ok: true });
    // ... Synapse fetched it from Zion itself ...
    const served = await z!.waitForLogs((l) => l["msg"] === "request" && l["method"] === "GET" && String(l["path"]).startsWith("/_matrix/key/v2/server"), before + 1);
    assert.ok(served.length > before, "Zion served no key request");
    assert.deepEqual(synapseKeySource(s1!, z!.serverName), [z!.serverName]);
    // ... and Zion verifies Synapse's notary signature with Synapse's published key.
    const s1Key = onlyKey(s1Keys);
    assert.deepEqual(verifyJsonSignature(k, s1!.serverName, s1Key.id, s1Key.key), { ok: true });
  });

  it("Zion fetches Synapse's keys directly and verifies them", async () => {
    const got = await z!.federation.keyRing.fetch(sn(s1!.serverName), undefined, "direct");
    assert.ok(got.ok, got.ok ? "" : got.reason);
    assert.equal(got.from, s1!.serverName);
    const want = onlyKey(s1Keys);
    assert.deepEqual(got.keys.verifyKeys.map((k) => [k.keyId, k.publicKeyBase64]), [[want.id, want.b64]]);
    const lookup = await z!.federation.keyRing.getKeyForRequest(sn(s1!.serverName), want.id as KeyId);
    assert.ok(lookup.ok, lookup.ok ? "" : lookup.reason);
    assert.deepEqual(Buffer.from(lookup.key.publicKey), Buffer.from(want.key));
  });

  it("Zion uses Synapse as its notary for a third server and verifies Synapse's notary signature", async () => {
    // Z2 sends Z a signed request; Z has never seen Z2 and asks its trusted key server S1 for Z2's key.
    const before = await keyQueriesSeenBy(s1!);
    await assert.rejects(
      z2!.federation.client.queryProfile(sn(z!.serverName), `@nobody:${z!.serverName}` as never),
      (e: { status?: number; errcode?: string; message?: string }) => {
        assert.equal(e.status, 404, e.message); // 404, not 401: Z authenticated Z2 with the key S1 vouched for
        assert.equal(e.errcode, "M_NOT_FOUND");
        return true;
      },
    );
    assert.ok((await keyQueriesSeenBy(s1!, before)) > before, `Zion did not ask Synapse: ${s1!.logTail(20)}`);
    // Z stored Z2's key as served by S1 (checked against S1's configured key and Z2's own signature) ...
    const stored = await z!.server.homeserver!.storage.keys.getAllServerKeys(sn(z2!.serverName));
    assert.deepEqual(stored.map((r) => [r.keyId, r.publicKey, r.fetchedFrom]), [[z2!.keyId, z2!.publicKey, s1!.serverName]]);
    // ... which S1 had fetched from Z2 itself to answer.
    assert.deepEqual(synapseKeySource(s1!, z2!.serverName), [z2!.serverName]);
  });

  it("Zion checks Synapse's notary signature: with a wrong key configured for Synapse it ignores Synapse's answer", async () => {
    const before = await keyQueriesSeenBy(s1!);
    await assert.rejects(
      z2!.federation.client.queryProfile(sn(z3!.serverName), `@nobody:${z3!.serverName}` as never),
      (e: { status?: number; errcode?: string; message?: string }) => {
        assert.equal(e.status, 404, e.message);
        assert.equal(e.errcode, "M_NOT_FOUND");
        return true;
      },
    );
    // Z3 asked S1 (which answers with Z2's keys signed by S1's real key) ...
    assert.ok((await keyQueriesSeenBy(s1!, before)) > before, `Zion did not ask Synapse: ${s1!.logTail(20)}`);
    // ... could not verify S1's signature with the key it was given, kept nothing from it and fetched from Z2 itself.
    const stored = await z3!.server.homeserver!.storage.keys.getAllServerKeys(sn(z2!.serverName));
    assert.deepEqual(stored.map((r) => [r.keyId, r.publicKey, r.fetchedFrom]), [[z2!.keyId, z2!.publicKey, z2!.serverName]]);
  });

  it("Zion answers as notary for Synapse's keys, fetching them on a cache miss, and both signatures verify", async () => {
    const r = await requestJson(`${z2!.federationUrl}/_matrix/key/v2/query/${encodeURIComponent(s1!.serverName)}`, {
      ca: ca.caCertPem, servername: "127.0.4.12",
    });
    assert.equal(r.status, 200, r.text);
    const list = (r.json as { server_keys: KeyResponse[] }).server_keys;
    assert.equal(list.length, 1, r.text);
    const k = list[0]!;
    assert.equal(k.server_name, s1!.serverName);
    const s1Key = onlyKey(s1Keys);
    assert.deepEqual(verifyJsonSignature(k, s1!.serverName, s1Key.id, s1Key.key), { ok: true });
    assert.deepEqual(verifyJsonSignature(k, z2!.serverName, z2!.keyId, decodeBase64(z2!.publicKey)), { ok: true });
  });

  it("Synapse uses Zion as its notary for a third server, verifies Zion's notary signature and accepts the request", async () => {
    const before = requestLines(z!, "POST", "/_matrix/key/v2/query").length;
    // Z2 signs a request to S2; S2 has never seen Z2 and asks its trusted key server Z for Z2's key.
    const target = `@nobody:${s2!.serverName}`;
    const uri = `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(target)}`;
    const z2Key = z2!.server.signingKey;
    const auth = signRequest({ method: "GET", uri, origin: z2!.serverName, destination: s2!.serverName }, z2Key);
    const r = await s2!.federation("GET", uri, { headers: { authorization: auth } });
    assert.equal(r.status, 404, `${r.text}\n${s2!.logTail(30)}`);
    assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
    const asked = await z!.waitForLogs((l) => l["msg"] === "request" && l["method"] === "POST" && l["path"] === "/_matrix/key/v2/query", before + 1);
    assert.ok(asked.length > before, "Synapse did not ask Zion");
    assert.deepEqual(synapseKeySource(s2!, z2!.serverName), [z!.serverName], "Synapse stored Z2's keys as given by notary Z");
  });

  it("Synapse checks Zion's notary signature: with a wrong key configured for Zion it ignores Zion's answer", async () => {
    const before = (await z!.waitForLogs((l) => l["msg"] === "request" && l["method"] === "POST" && l["path"] === "/_matrix/key/v2/query", 0)).length;
    const target = `@nobody:${s3!.serverName}`;
    const uri = `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(target)}`;
    const auth = signRequest({ method: "GET", uri, origin: z2!.serverName, destination: s3!.serverName }, z2!.server.signingKey);
    const r = await s3!.federation("GET", uri, { headers: { authorization: auth } });
    // S3 asked Z, could not verify Z's signature with the key it was given, and fetched Z2's keys directly instead.
    const asked = await z!.waitForLogs((l) => l["msg"] === "request" && l["method"] === "POST" && l["path"] === "/_matrix/key/v2/query", before + 1);
    assert.ok(asked.length > before, "Synapse did not ask Zion");
    assert.equal(r.status, 404, `${r.text}\n${s3!.logTail(30)}`);
    assert.deepEqual(synapseKeySource(s3!, z2!.serverName), [z2!.serverName], "Synapse kept nothing from the notary it could not verify");
  });
});
