import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../config/index.js";
import { formatSigningKeyFile, signingKeyFromSeed } from "../core/crypto/index.js";
import { createTestCa, type IssuedCert, type TestCa } from "../../test/harness/test-ca.js";
import { runLocalChecks, type AcmeView, type DatabaseProbe } from "./doctor-local.js";
import { ReportBuilder, type Check } from "./report.js";

describe("doctor local checks", () => {
  let dir: string;
  let ca: TestCa;
  let good: IssuedCert;
  let keyPath: string;
  const migrated: DatabaseProbe = {
    ping: async () => undefined,
    migrationStatus: async () => ({ current: 3, latest: 3, pending: [], unknown: [] }),
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-doctor-"));
    ca = await createTestCa(join(dir, "ca"));
    good = await ca.issue({ dns: ["doctor.test"], viaIntermediate: true });
    keyPath = join(dir, "signing.key");
    await writeFile(keyPath, formatSigningKeyFile([signingKeyFromSeed("a1", randomBytes(32))]));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A TLS-on-8448 server for doctor.test, with overrides. */
  async function run(over: Record<string, unknown>, database: DatabaseProbe | "none" = migrated, acme?: AcmeView): Promise<Check[]> {
    const cfg = parseConfig(stringify({
      server_name: "doctor.test",
      public_baseurl: "https://doctor.test/",
      listeners: [
        { port: 8448, type: "http", tls: true, resources: [{ names: ["federation"] }] },
        { port: 8008, type: "http", x_forwarded: true, resources: [{ names: ["client"] }] },
      ],
      tls_certificate_path: good.chainPath,
      tls_private_key_path: good.keyPath,
      signing_key_path: keyPath,
      database: { name: "sqlite3", args: { database: join(dir, "hs.db") } },
      // A private federation: peers (and we) trust the test CA.
      federation_custom_ca_list: [ca.caCertPath],
      ...over,
    }), { baseDir: dir });
    const b = new ReportBuilder("doctor", "doctor.test", 0);
    await runLocalChecks(cfg, b, { now: Date.now(), ...(database === "none" ? {} : { database: async () => database }), ...(acme ? { acme } : {}) });
    return b.checks;
  }
  const get = (cs: Check[], id: string, status: Check["status"]) => {
    const c = cs.find((x) => x.id === id && x.status === status);
    assert.ok(c, `no ${status} ${id} in\n${cs.map((x) => `${x.status} ${x.id}: ${x.detail}`).join("\n")}`);
    if (status !== "ok") assert.ok(c.fix && c.fix.length > 10);
    return c;
  };

  it("passes a correct setup with every check", async () => {
    const cs = await run({});
    assert.deepEqual(cs.filter((c) => c.status !== "ok").map((c) => `${c.id}: ${c.detail}`), []);
    for (const id of ["local.tls-files", "local.tls-chain", "local.tls-key-match", "local.tls-names", "local.tls-expiry", "local.signing-key", "local.public-baseurl", "local.well-known-ports", "local.whitelist", "local.database"]) get(cs, id, "ok");
  });

  it("fails a private key that belongs to another certificate", async () => {
    const other = await ca.issue({ dns: ["doctor.test"] });
    get(await run({ tls_private_key_path: other.keyPath }), "local.tls-key-match", "fail");
  });

  it("fails unreadable certificate files", async () => {
    const c = get(await run({ tls_certificate_path: join(dir, "nope.crt") }), "local.tls-files", "fail");
    assert.match(c.detail, /nope\.crt/);
  });

  it("fails a certificate file that lacks the intermediate", async () => {
    const c = get(await run({ tls_certificate_path: good.certPath }), "local.tls-chain", "fail");
    assert.match(c.fix ?? "", /fullchain\.pem/);
  });

  it("fails a self-signed certificate, and warns about a CA that is neither public nor listed", async () => {
    const self = await ca.selfSigned({ dns: ["doctor.test"] });
    get(await run({ tls_certificate_path: self.chainPath, tls_private_key_path: self.keyPath }), "local.tls-chain", "fail");
    const c = get(await run({ federation_custom_ca_list: undefined }), "local.tls-chain", "warn");
    assert.match(c.detail, /Zion Test Root CA/);
  });

  it("fails a certificate that covers neither the server name nor the delegated host", async () => {
    const other = await ca.issue({ dns: ["other.test"] });
    const c = get(await run({ tls_certificate_path: other.chainPath, tls_private_key_path: other.keyPath }), "local.tls-names", "fail");
    assert.match(c.detail, /doctor\.test/);
  });

  it("accepts a certificate for the delegated host and checks the delegated port", async () => {
    const m = await ca.issue({ dns: ["matrix.doctor.test"] });
    const cs = await run({ tls_certificate_path: m.chainPath, tls_private_key_path: m.keyPath, serve_server_wellknown: true, well_known_server: "matrix.doctor.test:8448" });
    get(cs, "local.tls-names", "ok");
    get(cs, "local.well-known-ports", "ok");
  });

  it("fails an expired certificate and warns one that expires within 14 days", async () => {
    const old = await ca.issue({ dns: ["doctor.test"], expired: true });
    get(await run({ tls_certificate_path: old.chainPath, tls_private_key_path: old.keyPath }), "local.tls-expiry", "fail");
    const soon = await ca.issue({ dns: ["doctor.test"], notAfterDays: 3 });
    get(await run({ tls_certificate_path: soon.chainPath, tls_private_key_path: soon.keyPath }), "local.tls-expiry", "warn");
  });

  it("fails a signing key file that does not parse", async () => {
    const bad = join(dir, "bad.key");
    await writeFile(bad, "ed25519 a1 not-base64!\n");
    const c = get(await run({ signing_key_path: bad }), "local.signing-key", "fail");
    assert.match(c.detail, /line 1/);
  });

  it("fails federation on a port peers do not use without delegation, naming 8448", async () => {
    const c = get(await run({
      listeners: [
        { port: 8443, type: "http", tls: true, resources: [{ names: ["federation"] }] },
        { port: 8008, type: "http", x_forwarded: true, resources: [{ names: ["client"] }] },
      ],
    }), "local.well-known-ports", "fail");
    assert.match(c.fix ?? "", /8448/);
    assert.match(c.fix ?? "", /well_known_server/);
  });

  it("fails public_baseurl on https served by a plain-http listener on that port", async () => {
    get(await run({
      listeners: [
        { port: 8448, type: "http", tls: true, resources: [{ names: ["federation"] }] },
        { port: 443, type: "http", tls: false, resources: [{ names: ["client"] }] },
      ],
    }), "local.public-baseurl", "fail");
  });

  it("fails an empty federation_domain_whitelist", async () => {
    get(await run({ federation_domain_whitelist: [] }), "local.whitelist", "fail");
  });

  it("fails a database with pending migrations, and one that cannot be reached", async () => {
    const c = get(await run({}, { ping: async () => undefined, migrationStatus: async () => ({ current: 1, latest: 3, pending: ["0002-a", "0003-b"], unknown: [] }) }), "local.database", "fail");
    assert.match(c.detail, /2 migrations are not applied/);
    get(await run({}, { ping: async () => { throw new Error("connection refused"); }, migrationStatus: async () => ({ current: 0, latest: 0, pending: [], unknown: [] }) }), "local.database", "fail");
    get(await run({}, "none"), "local.database", "warn");
  });

  it("reads ACME's state: a current certificate for the right name passes, an expired one fails", async () => {
    const acmeOnly = { tls_certificate_path: undefined, tls_private_key_path: undefined, acme: { enabled: true, domains: ["doctor.test"] } };
    const rest = acmeOnly;
    const fresh = await run(rest, migrated, { storageDir: "/x", consecutiveFailures: 0, certificate: { serial: "0A", dnsNames: ["doctor.test"], notAfter: Date.now() + 60 * 86_400_000 } });
    assert.match(get(fresh, "local.acme", "ok").detail, /no renewal attempt has failed/);
    const failingFar = await run(rest, migrated, { storageDir: "/x", consecutiveFailures: 2, lastError: "rateLimited", certificate: { serial: "0D", dnsNames: ["doctor.test"], notAfter: Date.now() + 30 * 86_400_000 + 60_000 } });
    const far = get(failingFar, "local.acme", "ok");
    assert.match(far.detail, /the last 2 renewal attempts failed \(rateLimited\), with 30 days left/);
    assert.doesNotMatch(far.detail, /not failing/);
    get(fresh, "local.tls-names", "ok");
    const wrong = await run(rest, migrated, { storageDir: "/x", consecutiveFailures: 0, certificate: { serial: "0B", dnsNames: ["www.doctor.test"], notAfter: Date.now() + 60 * 86_400_000 } });
    get(wrong, "local.tls-names", "fail");
    const expired = await run(rest, migrated, { storageDir: "/x", consecutiveFailures: 4, warning: "the certificate expired", certificate: { serial: "0C", dnsNames: ["doctor.test"], notAfter: Date.now() - 1000 } });
    get(expired, "local.acme", "fail");
  });
});
