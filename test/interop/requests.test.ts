/**
 * Authenticated federation requests between Zion and a real Synapse (issue 6, scenarios 2, 3 and 5):
 * - Zion -> Synapse: Zion signs GET /_matrix/federation/v1/query/profile; Synapse fetches Zion's keys, verifies the
 *   X-Matrix signature and answers 404 M_NOT_FOUND for an unknown user (a 401 would mean it did not verify).
 * - Synapse -> Zion: a Synapse user asks for the profile of a Zion user; Synapse signs the federation query, Zion
 *   fetches Synapse's keys, verifies and answers 404 M_NOT_FOUND. Tampered signatures and wrong destinations are
 *   refused with 401 and logged with the reason.
 * - federation_domain_whitelist without Synapse's name: Zion refuses Synapse's request with 403 and never connects
 *   to Synapse (no key fetch), nor sends it anything.
 * https://spec.matrix.org/v1.16/server-server-api/#request-authentication
 *
 * Cast: S 127.0.4.30 (Synapse), Z 127.0.4.31 (Zion), W 127.0.4.32 (Zion with a whitelist naming only other.example).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSigningKeyFile, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { ServerName, UserId } from "../../src/core/ids/index.js";
import { FederationError } from "../../src/federation/transport/client.js";
import { signRequest } from "../../src/federation/transport/x-matrix.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { pinnedSynapseVersion, requestJson, startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { startZionPeer, type ZionPeer } from "./zion-peer.js";

const sn = (s: string) => s as ServerName;
const uid = (s: string) => s as UserId;

/** Synapse access-log lines for requests whose User-Agent is Zion's ("Zion"). */
const zionRequestsSeenBy = (s: SynapseHandle) => s.log().split("\n").filter((l) => l.includes("Processed request") && l.trimEnd().endsWith('"Zion" [0 dbevts]'));

async function expectFederationError(p: Promise<unknown>, check: (e: FederationError) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FederationError, String(e));
    check(e);
    return true;
  });
}

describe("signed requests between Zion and Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let s: SynapseHandle | undefined;
  let z: ZionPeer | undefined;
  let w: ZionPeer | undefined;
  let alice: { accessToken: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-interop-requests-"));
    ca = await createTestCa(join(dir, "ca"));
    const leaf = await ca.issue({ ip: ["127.0.4.30"], name: "s" });
    s = await startSynapse({ dir: join(dir, "s"), bindHost: "127.0.4.30", caCertPath: ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath });
    console.log(`# Synapse ${s.version} (pinned ${pinnedSynapseVersion()}) as ${s.serverName}`);
    z = await startZionPeer({ ca, host: "127.0.4.31" });
    w = await startZionPeer({ ca, host: "127.0.4.32", config: { federation_domain_whitelist: ["other.example"] } });
    alice = await s.registerUser({ username: "alice" });
  });

  after(async () => {
    await s?.stop();
    await w?.stop();
    await z?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Zion -> Synapse: Synapse verifies Zion's X-Matrix signature and answers 404 M_NOT_FOUND", async () => {
    await expectFederationError(z!.federation.client.queryProfile(sn(s!.serverName), uid(`@nobody:${s!.serverName}`)), (e) => {
      assert.equal(e.status, 404, `${e.message}\n${s!.logTail(20)}`);
      assert.equal(e.errcode, "M_NOT_FOUND");
    });
    // Synapse's access log names the authenticated origin in braces.
    const line = s!.log().split("\n").find((l) => l.includes(`{${z!.serverName}}`) && l.includes('"GET /_matrix/federation/v1/query/profile'));
    assert.ok(line, s!.logTail(30));
    assert.match(line, / 404 "GET /);
  });

  it("Zion -> Synapse: the same request signed with a key Zion does not publish gets 401 (the 404 above meant something)", async () => {
    const uri = `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(`@nobody:${s!.serverName}`)}`;
    const stranger = signingKeyFromSeed("stranger", new Uint8Array(32).fill(7));
    const auth = signRequest({ method: "GET", uri, origin: z!.serverName, destination: s!.serverName }, stranger);
    const r = await s!.federation("GET", uri, { headers: { authorization: auth } });
    assert.equal(r.status, 401, r.text);
  });

  it("Synapse -> Zion: Zion verifies Synapse's signed profile query and answers 404 M_NOT_FOUND", async () => {
    const r = await s!.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@x:${z!.serverName}`)}`, { token: alice.accessToken });
    assert.equal(r.status, 404, `${r.text}\n${s!.logTail(20)}`);
    assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
    // Zion answered the federation query itself, with 404, after authenticating Synapse ...
    const answered = await z!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile", 1);
    assert.deepEqual(answered.map((l) => l["status"]), [404]);
    assert.equal(z!.logs().filter((l) => l["msg"] === "federation request refused").length, 0);
    // ... with the key it fetched from Synapse directly.
    const stored = await z!.server.homeserver!.storage.keys.getAllServerKeys(sn(s!.serverName));
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.fetchedFrom, s!.serverName);
  });

  describe("requests Zion refuses, signed with Synapse's real key", () => {
    const synapseKey = () => parseSigningKeyFile(readFileSync(s!.signingKeyPath, "utf8"))[0]!;
    const uri = () => `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(`@x:${z!.serverName}`)}`;
    const send = (authorization: string) =>
      requestJson(`${z!.federationUrl}${uri()}`, { ca: ca.caCertPem, headers: { authorization } });
    const refusals = () => z!.logs().filter((l) => l["msg"] === "federation request refused");

    it("accepts the correctly signed request (control): 404 M_NOT_FOUND", async () => {
      const r = await send(signRequest({ method: "GET", uri: uri(), origin: s!.serverName, destination: z!.serverName }, synapseKey()));
      assert.equal(r.status, 404, r.text);
      assert.equal((r.json as { errcode?: string }).errcode, "M_NOT_FOUND");
    });

    it("refuses a tampered signature with 401 and logs why", async () => {
      const good = signRequest({ method: "GET", uri: uri(), origin: s!.serverName, destination: z!.serverName }, synapseKey());
      const tampered = good.replace(/sig="([^"]+)"/, (_m, sig: string) => `sig="${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}"`);
      assert.notEqual(tampered, good);
      const before = refusals().length;
      const r = await send(tampered);
      assert.equal(r.status, 401, r.text);
      assert.equal((r.json as { errcode?: string }).errcode, "M_UNAUTHORIZED");
      const logged = refusals().slice(before);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!["status"], 401);
      assert.match(String(logged[0]!["reason"]), /signature/);
    });

    it("refuses a request signed for another destination with 401 and logs why", async () => {
      const elsewhere = "127.0.4.39:8448";
      const before = refusals().length;
      const r = await send(signRequest({ method: "GET", uri: uri(), origin: s!.serverName, destination: elsewhere }, synapseKey()));
      assert.equal(r.status, 401, r.text);
      const logged = refusals().slice(before);
      assert.equal(logged.length, 1);
      assert.match(String(logged[0]!["reason"]), new RegExp(`destination.*${elsewhere.replace(/\./g, "\\.")}`));
    });

    it("refuses a signature over another destination even when the header names none, with 401", async () => {
      const header = signRequest({ method: "GET", uri: uri(), origin: s!.serverName, destination: "127.0.4.39:8448" }, synapseKey())
        .replace(/,?destination="[^"]*"/, "");
      assert.doesNotMatch(header, /destination=/);
      const before = refusals().length;
      const r = await send(header);
      assert.equal(r.status, 401, r.text);
      assert.equal(refusals().slice(before).length, 1);
    });
  });

  it("federation_domain_whitelist without Synapse: Zion refuses Synapse's request with 403 and never connects to Synapse", async () => {
    const seenBefore = zionRequestsSeenBy(s!).length;
    assert.ok(seenBefore > 0, "the access-log filter sees Z's earlier requests, so a request from W would show");
    const r = await s!.client("GET", `/_matrix/client/v3/profile/${encodeURIComponent(`@x:${w!.serverName}`)}`, { token: alice.accessToken });
    assert.notEqual(r.status, 200, r.text);
    const refused = w!.logs().filter((l) => l["msg"] === "federation request refused");
    assert.equal(refused.length, 1, JSON.stringify(w!.logs().slice(-5)));
    assert.equal(refused[0]!["status"], 403);
    assert.equal(refused[0]!["errcode"], "M_FORBIDDEN");
    assert.match(String(refused[0]!["reason"]), /federation_domain_whitelist/);
    // Refused before any key lookup: W holds no key of Synapse and Synapse saw no request from a Zion.
    assert.deepEqual(await w!.server.homeserver!.storage.keys.getAllServerKeys(sn(s!.serverName)), []);
    // Outbound too: W will not send Synapse anything.
    await expectFederationError(w!.federation.client.queryProfile(sn(s!.serverName), uid(`@nobody:${s!.serverName}`)), (e) => {
      assert.equal(e.kind, "not-whitelisted");
    });
    assert.equal(zionRequestsSeenBy(s!).length, seenBefore, "Synapse was contacted by a Zion");
  });
});
