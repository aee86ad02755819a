import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { signingKeyFromSeed } from "../core/crypto/index.js";
import type { ServerName } from "../core/ids/index.js";
import { MemoryKeyStore, createDiscovery, createFederation } from "./federation.js";

const clock: Clock = { now: () => 1_700_000_000_000, sleep: async () => {} };
const key = signingKeyFromSeed("a_1", new Uint8Array(32).fill(7));

describe("homeserver.yaml federation keys reach the federation code (app/federation.ts)", () => {
  const dir = mkdtempSync(join(tmpdir(), "zion-app-fed-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("applies federation_verify_certificates, the verification whitelist, the minimum TLS version and the custom CA list", async () => {
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n");
    const config = parseConfig(
      [
        "server_name: a.test",
        "federation_certificate_verification_whitelist: ['*.onion', 'lab?.example.org']",
        "federation_client_minimum_tls_version: 1.2",
        "federation_custom_ca_list: [ca.pem]",
      ].join("\n"),
      { baseDir: dir },
    );
    const d = createDiscovery(config, clock);
    try {
      assert.equal(d.tlsPolicy.verify, true);
      assert.equal(d.tlsPolicy.verifies("matrix.example.org"), true);
      assert.equal(d.tlsPolicy.verifies("x.onion"), false);
      assert.equal(d.tlsPolicy.verifies("lab1.example.org"), false);
      assert.equal(d.tlsPolicy.minVersion, "TLSv1.2");
      assert.deepEqual(d.tlsPolicy.ca, ["-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"]);
    } finally {
      await d.https.close();
    }
    const off = createDiscovery(parseConfig("server_name: a.test\nfederation_verify_certificates: false\n"), clock);
    try {
      assert.equal(off.tlsPolicy.verifies("matrix.example.org"), false);
      assert.equal(off.tlsPolicy.minVersion, "TLSv1");
      assert.equal(off.tlsPolicy.ca, undefined);
    } finally {
      await off.https.close();
    }
  });

  it("applies ip_range_blacklist and ip_range_whitelist, and Synapse's default blacklist when none is given", async () => {
    const custom = createDiscovery(parseConfig("server_name: a.test\nip_range_blacklist: ['203.0.113.0/24', '10.0.0.0/8']\nip_range_whitelist: ['10.1.0.0/16']\n"), clock);
    const dflt = createDiscovery(parseConfig("server_name: a.test\n"), clock);
    try {
      assert.equal(custom.ipPolicy.check("203.0.113.9").ok, false);
      assert.equal(custom.ipPolicy.check("10.2.0.1").ok, false);
      assert.equal(custom.ipPolicy.check("10.1.2.3").ok, true);
      assert.equal(custom.ipPolicy.check("192.168.1.1").ok, true, "a custom blacklist replaces the default one");
      assert.equal(dflt.ipPolicy.check("192.168.1.1").ok, false);
      assert.equal(dflt.ipPolicy.check("127.0.0.1").ok, false);
      assert.equal(dflt.ipPolicy.check("8.8.8.8").ok, true);
    } finally {
      await custom.https.close();
      await dflt.https.close();
    }
  });

  it("sends nothing out with federation_enabled: false, and only to whitelisted domains with federation_domain_whitelist", async () => {
    const inputs = { keys: new MemoryKeyStore(), signingKeys: [key], clock };
    const off = createFederation(parseConfig("server_name: a.test\nfederation_enabled: false\n"), inputs);
    const listed = createFederation(parseConfig("server_name: a.test\nfederation_domain_whitelist: [b.test]\n"), inputs);
    const open = createFederation(parseConfig("server_name: a.test\n"), inputs);
    try {
      assert.equal(off.client.mayContact("b.test").ok, false);
      await assert.rejects(off.client.getVersion("b.test" as ServerName), /federation is disabled/);
      assert.equal(listed.client.mayContact("B.test").ok, true);
      assert.equal(listed.client.mayContact("c.test").ok, false);
      await assert.rejects(listed.client.getVersion("c.test" as ServerName), /not in federation_domain_whitelist/);
      assert.equal(open.client.mayContact("c.test").ok, true);
    } finally {
      await off.close();
      await listed.close();
      await open.close();
    }
  });
});
