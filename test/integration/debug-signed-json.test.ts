/**
 * The signed-JSON debug commands run as an operator would: the compiled CLI
 * (dist/src/cli/main.js) as a child process, JSON on stdin, output and exit
 * code checked (0 ok, 1 invalid for verify-json/check-pdu, 2 bad input with
 * one line on stderr).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { runDebug } from "../harness/cli.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const spec = JSON.parse(readFileSync(join(root, "test/fixtures/signed-json/spec-appendix.json"), "utf8")) as {
  signing: { seed: string; json: { input: object; signed: { signatures: Record<string, Record<string, string>> } }[]; events: { input: object; signed: Record<string, unknown> }[] };
};
const synapseEvents = JSON.parse(readFileSync(join(root, "test/fixtures/synapse/events.json"), "utf8")) as { room_version: string; events: { event_id: string; pdu: Record<string, unknown> }[] };
const synapseKeys = JSON.parse(readFileSync(join(root, "test/fixtures/synapse/server-keys-a.json"), "utf8")) as { response: { server_name: string; verify_keys: Record<string, { key: string }> } };
const [synapseKeyId, { key: synapseKey }] = Object.entries(synapseKeys.response.verify_keys)[0]!;
const synapseServer = synapseKeys.response.server_name;

const zion = runDebug;

function badInput(r: { code: number | null; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, `exit code: ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, `stderr is one line: ${r.stderr}`);
  assert.match(r.stderr, re);
  assert.equal(r.stdout, "");
}

let dir = "";
before(() => { dir = mkdtempSync(join(tmpdir(), "zion-debug-")); });
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe("zion debug usage errors", { timeout: 300_000 }, () => {
  it("exits 2 (not commander's 1, which means 'invalid') with one line when an option is missing or unknown", () => {
    badInput(zion(["sign-json", "--server-name", "x"], "{}"), /required option '--signing-key/);
    badInput(zion(["verify-json", "--verify-key", "ed25519:a=AAAA"], "{}"), /required option '--server-name/);
    badInput(zion(["check-pdu"], "{}"), /required option '--room-version/);
    badInput(zion(["auth-check", "--room-version", "11", "--bogus"], "{}"), /unknown option '--bogus'/);
    badInput(zion(["resolve-state"], "{}"), /required option '--room-version/);
  });
});

describe("zion debug canonical-json", { timeout: 300_000 }, () => {
  it("prints the canonical bytes of the spec's example, without a trailing newline when piped", () => {
    const r = zion(["canonical-json"], '{ "auth": { "success": true, "mxid": "@john.doe:example.com" }, "本": 2, "日": 1 }');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '{"auth":{"mxid":"@john.doe:example.com","success":true},"日":1,"本":2}');
  });

  it("refuses floats (exit 2, one line naming the number) unless --allow-floats", () => {
    badInput(zion(["canonical-json"], '{"a":1.5}'), /1\.5 is not an integer.*; --allow-floats accepts it/);
    badInput(zion(["canonical-json"], '{"a":9007199254740993}'), /is outside .*; --allow-floats accepts it/);
    const r = zion(["canonical-json", "--allow-floats"], '{"a":1.5}');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '{"a":1.5}');
  });

  it("refuses text that is not JSON and empty input", () => {
    badInput(zion(["canonical-json"], "{nope"), /not valid JSON/);
    badInput(zion(["canonical-json"], ""), /no JSON on standard input/);
  });
});

describe("zion debug sign-json and verify-json", { timeout: 300_000 }, () => {
  it("signs the spec's small object with the published test key exactly as the spec prints", () => {
    const keyFile = join(dir, "signing.key");
    writeFileSync(keyFile, `ed25519 1 ${spec.signing.seed}\n`);
    const r = zion(["sign-json", "--signing-key", keyFile, "--server-name", "domain"], JSON.stringify(spec.signing.json[1]!.input));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { signatures: Record<string, Record<string, string>> };
    assert.deepEqual(out.signatures, spec.signing.json[1]!.signed.signatures);
  });

  it("fails with exit 2 on a missing or malformed key file", () => {
    badInput(zion(["sign-json", "--signing-key", join(dir, "absent.key"), "--server-name", "d"], "{}"), /ENOENT/);
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "ed25519 1 AAAA\n");
    badInput(zion(["sign-json", "--signing-key", bad, "--server-name", "d"], "{}"), /line 1: seed is 3 bytes/);
  });

  it("verify-json exits 0 for a valid signature and 1 for a changed object", () => {
    const signed = { one: 1, two: "Two", signatures: spec.signing.json[1]!.signed.signatures };
    const pub = derivePublicKey();
    const ok = zion(["verify-json", "--server-name", "domain", "--verify-key", `ed25519:1=${pub}`], JSON.stringify(signed));
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { valid: true });
    const changed = zion(["verify-json", "--server-name", "domain", "--verify-key", `ed25519:1=${pub}`], JSON.stringify({ ...signed, two: "Three" }));
    assert.equal(changed.code, 1);
    assert.match((JSON.parse(changed.stdout) as { reason: string }).reason, /does not match/);
    const other = zion(["verify-json", "--server-name", "other.test", "--verify-key", `ed25519:1=${pub}`], JSON.stringify(signed));
    assert.equal(other.code, 1);
  });

  it("verify-json exits 2 on a malformed --verify-key", () => {
    badInput(zion(["verify-json", "--server-name", "domain", "--verify-key", "ed25519:1"], "{}"), /expected ed25519:ID=BASE64/);
    badInput(zion(["verify-json", "--server-name", "domain", "--verify-key", "ed25519:1=AAAA"], "{}"), /32 bytes, this is 3/);
  });
});

/** The public key of the spec's test seed (derived by the compiled core in a child process). */
function derivePublicKey(): string {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", `
    import { signingKeyFromSeed, publicKeyBase64 } from ${JSON.stringify(join(root, "dist/src/core/crypto/index.js"))};
    import { decodeBase64 } from ${JSON.stringify(join(root, "dist/src/core/json/index.js"))};
    process.stdout.write(publicKeyBase64(signingKeyFromSeed("1", decodeBase64(${JSON.stringify(spec.signing.seed)}))));
  `], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("zion debug event-id and redact", { timeout: 300_000 }, () => {
  it("prints the id Synapse gave each captured event", () => {
    for (const e of synapseEvents.events.slice(0, 3)) {
      const r = zion(["event-id", "--room-version", synapseEvents.room_version], JSON.stringify(e.pdu));
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout, `${e.event_id}\n`, r.stderr);
    }
  });

  it("prints a v1 event's own event_id, and refuses an unknown room version", () => {
    const r = zion(["event-id", "--room-version", "1"], JSON.stringify(spec.signing.events[1]!.signed));
    assert.equal(r.stdout, "$0:domain\n");
    badInput(zion(["event-id", "--room-version", "99"], "{}"), /--room-version "99": M_UNSUPPORTED_ROOM_VERSION, Zion knows room versions 1, 2, .*, 12\n/);
    badInput(zion(["event-id", "--room-version", "1"], "{}"), /event_id: is required in room version 1/);
  });

  it("redacts by the room version's rules", () => {
    const member = { type: "m.room.member", content: { membership: "join", displayname: "A", join_authorised_via_users_server: "@x:y" }, origin: "y", unsigned: {} };
    const v11 = JSON.parse(zion(["redact", "--room-version", "11"], JSON.stringify(member)).stdout) as unknown;
    assert.deepEqual(v11, { type: "m.room.member", content: { membership: "join", join_authorised_via_users_server: "@x:y" } });
    const v8 = JSON.parse(zion(["redact", "--room-version", "8"], JSON.stringify(member)).stdout) as unknown;
    assert.deepEqual(v8, { type: "m.room.member", content: { membership: "join" }, origin: "y" });
  });
});

/** Events with floats built by Synapse (test/fixtures/synapse/floats): only the raw text keeps Python's spellings. */
const floatsText = readFileSync(join(root, "test/fixtures/synapse/floats/events-v5.json"), "utf8");
const floats = JSON.parse(floatsText) as { server_name: string; verify_key: { key_id: string; key: string }; events: { event_id: string; wire: string; pdu: { type: string } }[] };

describe("zion debug on room version 5 events with floats made by Synapse", { timeout: 300_000 }, () => {
  const key = `${floats.server_name}:${floats.verify_key.key_id}=${floats.verify_key.key}`;

  it("prints Synapse's event id, and passes check-pdu unredacted (the content hash covers Python's float text)", () => {
    for (const e of floats.events) {
      const id = zion(["event-id", "--room-version", "5"], e.wire);
      assert.equal(id.stdout, `${e.event_id}\n`, id.stderr);
      const r = zion(["check-pdu", "--room-version", "5", "--verify-key", key, "--event-id", e.event_id], e.wire);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const v = JSON.parse(r.stdout) as { ok: boolean; failed_checks: string[]; redacted: boolean };
      assert.deepEqual([v.ok, v.failed_checks, v.redacted], [true, [], false], e.pdu.type);
    }
  });

  it("writes Synapse's canonical JSON back byte for byte with --allow-floats", () => {
    for (const e of floats.events) assert.equal(zion(["canonical-json", "--allow-floats"], e.wire).stdout, e.wire);
  });

  it("redacts without changing the floats redaction keeps, so the redacted event has the same id", () => {
    const pl = floats.events.find((e) => e.pdu.type === "m.room.power_levels")!;
    const redacted = zion(["redact", "--room-version", "5"], pl.wire);
    assert.equal(redacted.code, 0, redacted.stderr);
    assert.match(redacted.stdout, /"users_default": 0\.0/);
    assert.equal(zion(["event-id", "--room-version", "5"], redacted.stdout).stdout, `${pl.event_id}\n`);
  });

  it("encodes the spec's canonical JSON example {\"a\": -0, \"b\": 1e10} as {\"a\":0,\"b\":10000000000} (strict)", () => {
    const r = zion(["canonical-json"], '{"a": -0, "b": 1e10, "c": 1E2}');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a":0,"b":10000000000,"c":100}');
  });
});

describe("zion debug check-pdu", { timeout: 300_000 }, () => {
  const e = synapseEvents.events[synapseEvents.events.length - 1]!;
  const key = `${synapseServer}:${synapseKeyId}=${synapseKey}`;
  const check = (pdu: unknown, extra: string[] = []) => zion(["check-pdu", "--room-version", synapseEvents.room_version, "--verify-key", key, ...extra], JSON.stringify(pdu));

  it("passes a Synapse event with its server's key (exit 0, no failed checks)", () => {
    const r = check(e.pdu, ["--event-id", e.event_id]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = JSON.parse(r.stdout) as { ok: boolean; event_id: string; failed_checks: string[]; redacted: boolean };
    assert.deepEqual([v.ok, v.event_id, v.failed_checks, v.redacted], [true, e.event_id, [], false]);
  });

  it("names the content hash when the content was changed (usable, redacted: exit 0)", () => {
    const r = check({ ...e.pdu, content: { body: "changed" } });
    assert.equal(r.code, 0);
    const v = JSON.parse(r.stdout) as { ok: boolean; failed_checks: string[]; redacted: boolean };
    assert.deepEqual([v.ok, v.failed_checks, v.redacted], [true, ["content_hash"], true]);
  });

  it("names the signature and event id checks when an essential field was changed (exit 1)", () => {
    const r = check({ ...e.pdu, depth: 999 }, ["--event-id", e.event_id]);
    assert.equal(r.code, 1);
    const v = JSON.parse(r.stdout) as { ok: boolean; failed_checks: string[] };
    assert.equal(v.ok, false);
    assert.ok(v.failed_checks.includes("signatures") && v.failed_checks.includes("event_id"), v.failed_checks.join());
  });

  it("names the format check for a malformed event, and the signature check without a key", () => {
    const f = check({ ...e.pdu, sender: "nobody" });
    assert.equal(f.code, 1);
    assert.match(f.stdout, /"format"/);
    assert.match(f.stdout, /sender: must start with '@'/);
    const n = zion(["check-pdu", "--room-version", synapseEvents.room_version], JSON.stringify(e.pdu));
    assert.equal(n.code, 1);
    assert.match(n.stdout, /no known key of/);
  });

  it("exits 2 on input that is not JSON and on a malformed --verify-key", () => {
    badInput(zion(["check-pdu", "--room-version", "12"], "[["), /not valid JSON/);
    badInput(zion(["check-pdu", "--room-version", "12", "--verify-key", "ed25519:x=AAAA"], "{}"), /expected NAME:ed25519:ID=BASE64/);
  });
});
