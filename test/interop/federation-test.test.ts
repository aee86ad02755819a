/**
 * `zion federation-test` against a real Synapse (issue 6, scenario 6), run as the CLI process:
 * - `zion federation-test <synapse>` (trusting the test CA) reports Synapse's federation as OK;
 * - `zion federation-test <synapse> -c <zion's homeserver.yaml>` adds the two-way check: a request signed by Zion,
 *   which passes only because Synapse discovered Zion, fetched its keys and verified the signature; with a signing
 *   key Zion does not publish, the same check fails (exit 1), so the pass means something;
 * - `zion federation-test <zion> -c <synapse's homeserver.yaml>` tests Zion as Synapse would see it, and its two-way
 *   check (signed as Synapse) passes because Zion fetched Synapse's keys and verified it.
 *
 * Cast: S 127.0.4.50 (Synapse), Z 127.0.4.51 (Zion).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { newSigningKey, writeSigningKeyFile } from "../../src/app/index.js";
import { runZion } from "../harness/server.js";
import { createTestCa, type TestCa } from "../harness/test-ca.js";
import { pinnedSynapseVersion, startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { startZionPeer, type ZionPeer } from "./zion-peer.js";

interface JsonReport {
  FederationOK: boolean;
  Zion: { ServerName: string; Checks: { id: string; status: string; detail: string }[] };
}

async function federationTest(args: readonly string[], cwd: string): Promise<{ code: number | null; report: JsonReport; stderr: string }> {
  const p = runZion(["federation-test", ...args, "--json", "--timeout", "20000"], { cwd });
  const code = await p.exited();
  let report: JsonReport;
  try {
    report = JSON.parse(p.output.stdout) as JsonReport;
  } catch {
    throw new Error(`federation-test printed no JSON report (exit ${code}):\n${p.output.stdout}\n${p.output.stderr}`);
  }
  return { code, report, stderr: p.output.stderr };
}

const failed = (r: JsonReport) => r.Zion.Checks.filter((c) => c.status === "fail").map((c) => `${c.id}: ${c.detail}`);

describe("zion federation-test against Synapse", { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let s: SynapseHandle | undefined;
  let z: ZionPeer | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "zion-interop-tester-"));
    ca = await createTestCa(join(dir, "ca"));
    const leaf = await ca.issue({ ip: ["127.0.4.50"], name: "s" });
    s = await startSynapse({ dir: join(dir, "s"), bindHost: "127.0.4.50", caCertPath: ca.caCertPath, certPath: leaf.chainPath, keyPath: leaf.keyPath });
    console.log(`# Synapse ${s.version} (pinned ${pinnedSynapseVersion()}) as ${s.serverName}`);
    z = await startZionPeer({ ca, host: "127.0.4.51" });
  });

  after(async () => {
    await s?.stop();
    await z?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports Synapse's federation as OK", async () => {
    const { code, report } = await federationTest([s!.serverName, "--ca-file", ca.caCertPath], dir);
    assert.deepEqual(failed(report), []);
    assert.equal(report.FederationOK, true);
    assert.equal(code, 0);
    assert.equal(report.Zion.ServerName, s!.serverName);
    const keys = report.Zion.Checks.filter((c) => c.id.startsWith("keys.") && c.status === "ok");
    assert.ok(keys.length > 0, JSON.stringify(report.Zion.Checks.map((c) => c.id)));
    // Without our identity there is no two-way check.
    assert.equal(report.Zion.Checks.find((c) => c.id === "reach-back"), undefined);
  });

  it("with Zion's configuration, passes the two-way check because Synapse verified Zion's signed request", async () => {
    const { code, report } = await federationTest([s!.serverName, "-c", z!.server.configPath], dir);
    const reach = report.Zion.Checks.find((c) => c.id === "reach-back");
    assert.ok(reach, JSON.stringify(report.Zion.Checks.map((c) => c.id)));
    assert.equal(reach.status, "ok", reach.detail);
    assert.match(reach.detail, /404/);
    assert.deepEqual(failed(report), []);
    assert.equal(code, 0);
    // Synapse really authenticated Zion for it.
    assert.ok(s!.log().split("\n").some((l) => l.includes(`{${z!.serverName}}`) && l.includes("/_matrix/federation/v1/query/profile")), s!.logTail(20));
  });

  it("run against Zion with Synapse's own homeserver.yaml, passes the two-way check: Zion verified Synapse's identity", async () => {
    // The tester reads Synapse's configuration (same key names) and signs as Synapse with Synapse's signing key;
    // Zion can only answer 404 after fetching Synapse's keys from Synapse and verifying the signature.
    const before = z!.logs().filter((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile").length;
    const { code, report } = await federationTest([z!.serverName, "-c", s!.configPath], dir);
    const reach = report.Zion.Checks.find((c) => c.id === "reach-back");
    assert.ok(reach, JSON.stringify(report.Zion.Checks.map((c) => c.id)));
    assert.equal(reach.status, "ok", reach.detail);
    assert.ok(reach.detail.includes(`signed by ${s!.serverName}`), reach.detail);
    assert.deepEqual(failed(report), []);
    assert.equal(code, 0);
    const answered = await z!.waitForLogs((l) => l["msg"] === "request" && l["path"] === "/_matrix/federation/v1/query/profile", before + 1);
    assert.deepEqual(answered.slice(before).map((l) => l["status"]), [404]);
  });

  it("fails the two-way check (exit 1) when signing with a key Zion does not publish", async () => {
    const cfg = parse(readFileSync(z!.server.configPath, "utf8")) as Record<string, unknown>;
    const otherKeyPath = join(dir, "other-signing.key");
    writeSigningKeyFile(otherKeyPath, [newSigningKey()]);
    const otherConfig = join(dir, "other-homeserver.yaml");
    writeFileSync(otherConfig, stringify({ ...cfg, signing_key_path: otherKeyPath }));
    const { code, report } = await federationTest([s!.serverName, "-c", otherConfig], dir);
    const reach = report.Zion.Checks.find((c) => c.id === "reach-back");
    assert.ok(reach);
    assert.equal(reach.status, "fail", reach.detail);
    assert.match(reach.detail, /401|unauthenticated/);
    assert.equal(report.FederationOK, false);
    assert.equal(code, 1);
  });
});
