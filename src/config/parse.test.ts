import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfigWithWarnings, parseConfig, parseConfigWithWarnings } from "./index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const BASE = "/srv/zion";

function parse(yaml: string) {
  return parseConfigWithWarnings(`server_name: example.org\n${yaml}`, { baseDir: BASE });
}

function problems(yaml: string, withServerName = true): string[] {
  try {
    parseConfig(withServerName ? `server_name: example.org\n${yaml}` : yaml, { baseDir: BASE });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.problems];
  }
  assert.fail("the config was accepted");
}

describe("parseConfig: keys that work now", () => {
  it("reads server_name and derives public_baseurl, signing_key_path and a SQLite database from it", () => {
    const { config, warnings } = parse("");
    assert.equal(config.server_name, "example.org");
    assert.equal(config.public_baseurl, "https://example.org/");
    assert.equal(config.signing_key_path, join(BASE, "example.org.signing.key"));
    assert.deepEqual(config.database, { name: "sqlite3", args: { database: join(BASE, "homeserver.db") } });
    assert.equal(config.media_store_path, join(BASE, "media_store"));
    assert.deepEqual(warnings, []);
  });

  it("keeps an explicit public_baseurl and adds the trailing slash", () => {
    assert.equal(parse("public_baseurl: https://matrix.example.org").config.public_baseurl, "https://matrix.example.org/");
    assert.match(problems("public_baseurl: ftp://x")[0]!, /^public_baseurl \(line 2\): .*not an http\(s\) URL/);
  });

  it("resolves pid_file, signing_key_path, TLS paths, media_store_path and log_config against the config folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "zion-cfg-"));
    try {
      writeFileSync(join(dir, "log.yaml"), "root:\n  level: DEBUG\n");
      const { config } = parseConfigWithWarnings(
        [
          "server_name: example.org",
          "pid_file: run/zion.pid",
          "signing_key_path: keys/s.key",
          "tls_certificate_path: /etc/tls/cert.pem",
          "tls_private_key_path: tls/key.pem",
          "media_store_path: media",
          "log_config: log.yaml",
        ].join("\n"),
        { baseDir: dir },
      );
      assert.equal(config.pid_file, join(dir, "run/zion.pid"));
      assert.equal(config.signing_key_path, join(dir, "keys/s.key"));
      assert.equal(config.tls_certificate_path, "/etc/tls/cert.pem");
      assert.equal(config.tls_private_key_path, join(dir, "tls/key.pem"));
      assert.equal(config.media_store_path, join(dir, "media"));
      assert.equal(config.log_config, join(dir, "log.yaml"));
      assert.equal(config.log_level, "debug", "root.level DEBUG from the Python log config");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads listeners with Synapse's defaults for bind_addresses, tls, x_forwarded and resources", () => {
    const { config } = parse(
      [
        "tls_certificate_path: c.pem",
        "tls_private_key_path: k.pem",
        "listeners:",
        "  - port: 8448",
        "    type: http",
        "    tls: true",
        "    bind_addresses: ['127.0.1.1', '::1']",
        "    x_forwarded: true",
        "    resources: [{names: [federation]}]",
        "  - port: 8008",
        "    type: http",
        "    resources: [{names: [client, federation], compress: false}]",
      ].join("\n"),
    );
    assert.equal(config.listeners.length, 2);
    const [a, b] = config.listeners;
    assert.deepEqual(a, { port: 8448, type: "http", tls: true, bind_addresses: ["127.0.1.1", "::1"], x_forwarded: true, resources: [{ names: ["federation"], compress: false }] });
    assert.deepEqual(b?.bind_addresses, ["::", "0.0.0.0"]);
    assert.equal(b?.tls, false);
    assert.equal(b?.x_forwarded, false);
    assert.deepEqual(b?.resources[0]?.names, ["client", "federation"]);
  });

  it("requires the certificate paths for a TLS listener", () => {
    const p = problems("listeners: [{port: 8448, type: http, tls: true}]");
    assert.deepEqual(p, [
      "listeners[0].tls (line 2): a TLS listener needs tls_certificate_path",
      "listeners[0].tls (line 2): a TLS listener needs tls_private_key_path",
    ]);
  });

  it("reads old_signing_keys and key_refresh_interval with duration suffixes", () => {
    const key = Buffer.alloc(32, 7).toString("base64").replace(/=+$/, "");
    const { config } = parse(`old_signing_keys:\n  "ed25519:old_1": {key: "${key}", expired_ts: 1600000000000}\nkey_refresh_interval: 2h`);
    assert.deepEqual(config.old_signing_keys, { "ed25519:old_1": { key, expired_ts: 1600000000000 } });
    assert.equal(config.key_refresh_interval, 2 * 3_600_000);
    assert.equal(parse("").config.key_refresh_interval, 86_400_000, "default one day");
    assert.match(problems(`old_signing_keys: {"ed25519:x": {key: "abc", expired_ts: 1}}`)[0]!, /old_signing_keys\["ed25519:x"\]\.key .*32 bytes/);
    assert.match(problems(`old_signing_keys: {"ed25519:x": {key: "${key}"}}`)[0]!, /expired_ts.*is required/);
  });

  it("reads a PostgreSQL database (psycopg2) with user, password, host, port and database or dbname", () => {
    const { config } = parse("database:\n  name: psycopg2\n  args: {user: zion, password: pw, host: 127.0.7.1, port: 5433, database: zion, cp_min: 2, cp_max: 10}");
    assert.deepEqual(config.database, { name: "psycopg2", args: { user: "zion", password: "pw", host: "127.0.7.1", port: 5433, database: "zion", cp_min: 2, cp_max: 10 } });
    const viaDbname = parse("database: {name: psycopg2, args: {dbname: synapse, keepalives_idle: 10}}").config.database;
    assert.deepEqual(viaDbname, { name: "psycopg2", args: { database: "synapse" } });
  });

  it("reads a SQLite database path, keeping :memory: as it is", () => {
    assert.deepEqual(parse("database: {name: sqlite3, args: {database: data/h.db}}").config.database, { name: "sqlite3", args: { database: join(BASE, "data/h.db") } });
    assert.deepEqual(parse("database: {name: sqlite3, args: {database: ':memory:'}}").config.database, { name: "sqlite3", args: { database: ":memory:" } });
  });

  it("reads the log level directly, accepting Python's level names", () => {
    assert.equal(parse("log_level: WARNING").config.log_level, "warn");
    assert.equal(parse("log_level: debug").config.log_level, "debug");
    assert.equal(parse("").config.log_level, "info");
    assert.match(problems("log_level: loud")[0]!, /^log_level \(line 2\): unknown log level "loud"/);
  });

  it("reports an unreadable log_config with its path", () => {
    assert.match(problems("log_config: /nonexistent/log.yaml")[0]!, /^log_config \(line 2\): cannot read \/nonexistent\/log\.yaml: ENOENT/);
  });

  it("reads the well-known, registration and room-version keys", () => {
    const { config } = parse(
      [
        "serve_server_wellknown: true",
        "well_known_server: matrix.example.org:443",
        "enable_registration: true",
        "enable_registration_without_verification: true",
        "registration_shared_secret: s3cret",
        "default_room_version: 10",
      ].join("\n"),
    );
    assert.equal(config.serve_server_wellknown, true);
    assert.equal(config.well_known_server, "matrix.example.org:443");
    assert.equal(config.enable_registration, true);
    assert.equal(config.enable_registration_without_verification, true);
    assert.equal(config.registration_shared_secret, "s3cret");
    assert.equal(config.default_room_version, "10");
    const d = parse("").config;
    assert.equal(d.serve_server_wellknown, false);
    assert.equal(d.enable_registration, false);
    assert.equal(d.default_room_version, "11");
  });

  it("refuses open registration unless enable_registration_without_verification confirms it, as Synapse does", () => {
    assert.match(problems("enable_registration: true")[0]!, /^enable_registration \(line 2\): .*enable_registration_without_verification/);
  });

  it("accepts open registration verified by captcha, a required 3PID or a registration token, as Synapse does", () => {
    for (const extra of ["enable_registration_captcha: true", "registrations_require_3pid: [email]", "registration_requires_token: true"]) {
      const { config, warnings } = parse(`enable_registration: true\n${extra}`);
      assert.equal(config.enable_registration, true, extra);
      assert.deepEqual(warnings, [], extra);
    }
    assert.equal(parse("").config.registration_requires_token, false);
    assert.match(problems("registrations_require_3pid: [fax]")[0]!, /^registrations_require_3pid\[0\] \(line 2\): /);
  });

  it("refuses an unknown default_room_version", () => {
    assert.match(problems("default_room_version: '99'")[0]!, /^default_room_version \(line 2\): unknown room version/);
  });

  it("reads the federation keys of the operator's guide", () => {
    const { config } = parse(
      [
        "federation_enabled: false",
        "federation_domain_whitelist: [a.example, 'b.example:8448']",
        "send_presence_to_federation: false",
        "federation_verify_certificates: false",
        "federation_certificate_verification_whitelist: ['*.internal', lan.example]",
        "federation_custom_ca_list: [ca/root.pem]",
        "federation_client_minimum_tls_version: 1.2",
        "ip_range_blacklist: ['10.0.0.0/8', 'fe80::/10', '192.168.1.1']",
        "ip_range_whitelist: ['10.1.0.0/16']",
        "trusted_key_servers: [{server_name: notary.example, verify_keys: {'ed25519:a': " +
          `"${Buffer.alloc(32, 1).toString("base64").replace(/=+$/, "")}"}}]`,
        "presence: {enabled: false}",
      ].join("\n"),
    );
    assert.equal(config.federation_enabled, false);
    assert.deepEqual(config.federation_domain_whitelist, ["a.example", "b.example:8448"]);
    assert.equal(config.send_presence_to_federation, false);
    assert.equal(config.federation_verify_certificates, false);
    assert.deepEqual(config.federation_certificate_verification_whitelist, ["*.internal", "lan.example"]);
    assert.deepEqual(config.federation_custom_ca_list, [join(BASE, "ca/root.pem")]);
    assert.equal(config.federation_client_minimum_tls_version, "1.2");
    assert.deepEqual(config.ip_range_blacklist, ["10.0.0.0/8", "fe80::/10", "192.168.1.1"]);
    assert.deepEqual(config.ip_range_whitelist, ["10.1.0.0/16"]);
    assert.equal(config.trusted_key_servers[0]?.server_name, "notary.example");
    assert.equal(config.presence.enabled, false);
  });

  it("defaults the federation keys as Synapse does", () => {
    const { config } = parse("");
    assert.equal(config.federation_enabled, true);
    assert.equal(config.federation_domain_whitelist, undefined);
    assert.equal(config.send_presence_to_federation, true);
    assert.equal(config.federation_verify_certificates, true);
    assert.equal(config.federation_client_minimum_tls_version, "1");
    assert.deepEqual(config.trusted_key_servers, [{ server_name: "matrix.org" }]);
    assert.equal(config.presence.enabled, true);
    assert.equal(config.dns_servers, undefined);
  });

  it("refuses bad federation values with their key paths", () => {
    const p = problems(
      [
        "federation_domain_whitelist: ['bad name!']",
        "federation_client_minimum_tls_version: 2",
        "ip_range_blacklist: ['10.0.0.0/33']",
        "presence: {enabled: yes please}",
      ].join("\n"),
    );
    assert.equal(p.length, 4, p.join("\n"));
    assert.match(p[0]!, /^federation_domain_whitelist\[0\] \(line 2\): "bad name!" is not a valid server name/);
    assert.match(p[1]!, /^federation_client_minimum_tls_version \(line 3\): Invalid option/);
    assert.match(p[2]!, /^ip_range_blacklist\[0\] \(line 4\): "10.0.0.0\/33" is not an IP range/);
    assert.match(p[3]!, /^presence\.enabled \(line 5\): .*expected boolean/);
  });

  it("reads dns_servers as ip:port, normalising a bare address to port 53 and bracketing IPv6", () => {
    const { config } = parse("dns_servers: ['127.0.2.1:5353', '127.0.2.2', '[::1]:53', '::1']");
    assert.deepEqual(config.dns_servers, ["127.0.2.1:5353", "127.0.2.2:53", "[::1]:53", "[::1]:53"]);
    assert.match(problems("dns_servers: ['dns.example:53']")[0]!, /^dns_servers\[0\] \(line 2\): "dns.example:53" is not a DNS server address/);
    assert.match(problems("dns_servers: ['127.0.0.1:70000']")[0]!, /^dns_servers\[0\]/);
  });

  it("reads the acme section with its defaults", () => {
    const { config } = parse(
      [
        "acme:",
        "  enabled: true",
        "  directory_url: https://127.0.5.1:14000/dir",
        "  contact_email: ops@example.org",
        "  domains: [example.org, matrix.example.org]",
        "  challenge: tls-alpn-01",
        "  account_key_path: acme/account.key",
        "  storage_dir: acme",
        "  ca_bundle: /etc/pebble/ca.pem",
      ].join("\n"),
    );
    assert.deepEqual(config.acme, {
      enabled: true,
      directory_url: "https://127.0.5.1:14000/dir",
      contact_email: "ops@example.org",
      domains: ["example.org", "matrix.example.org"],
      challenge: "tls-alpn-01",
      account_key_path: join(BASE, "acme/account.key"),
      storage_dir: join(BASE, "acme"),
      ca_bundle: "/etc/pebble/ca.pem",
    });
    const d = parse("acme: {enabled: false}").config.acme;
    assert.equal(d?.challenge, "http-01");
    assert.equal(d?.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
    assert.match(problems("acme: {enabled: true, contact_email: a@b.c, challenge: dns-01}")[0]!, /^acme\.challenge \(line 2\): Invalid option/);
    assert.equal(parse("acme: {enabled: true}").config.acme?.contact_email, undefined, "contact_email is optional");
  });

  it("lets a TLS listener go without certificate paths when ACME provides the certificate", () => {
    const { config } = parse("acme: {enabled: true, contact_email: a@example.org}\nlisteners: [{port: 8448, type: http, tls: true}]");
    assert.equal(config.listeners[0]?.tls, true);
  });

  it("reads federation_tester.enabled, off by default", () => {
    assert.equal(parse("").config.federation_tester.enabled, false);
    assert.equal(parse("federation_tester: {enabled: true}").config.federation_tester.enabled, true);
  });

  it("reads web_client.enabled, off by default, and Synapse's web_client_location", () => {
    assert.equal(parse("").config.web_client.enabled, false);
    assert.equal(parse("").config.web_client_location, undefined);
    const { config, warnings } = parse("web_client: {enabled: true}\nweb_client_location: https://app.example.org/");
    assert.equal(config.web_client.enabled, true);
    assert.equal(config.web_client_location, "https://app.example.org/");
    assert.deepEqual(warnings, []);
  });

  it("refuses a web_client_location that is not an http(s) URL, as Synapse does", () => {
    assert.match(problems("web_client_location: /var/www/element")[0]!, /^web_client_location \(line 2\): "\/var\/www\/element" is not an http\(s\) URL/);
    assert.match(problems("web_client: {enabled: yes please}")[0]!, /^web_client\.enabled \(line 2\)/);
  });

  it("reads max_upload_size with Synapse's size suffixes", () => {
    assert.equal(parse("max_upload_size: 10M").config.max_upload_size, 10 * 1024 * 1024);
    assert.equal(parse("").config.max_upload_size, 50 * 1024 * 1024);
  });

  it("treats a key with no value (YAML null) as not set", () => {
    const { config } = parse("public_baseurl:\nfederation_domain_whitelist:\n");
    assert.equal(config.public_baseurl, "https://example.org/");
    assert.equal(config.federation_domain_whitelist, undefined);
  });
});

describe("parseConfig: bad values", () => {
  it("reports a missing server_name", () => {
    assert.deepEqual(problems("listeners: []", false), ["server_name: is required: the domain your users and rooms belong to, e.g. example.org"]);
  });

  it("reports a value of the wrong type with its key path and line", () => {
    assert.deepEqual(problems("listeners:\n  - port: '8008'\n    type: http"), ["listeners[0].port (line 3): Invalid input: expected number, received string"]);
  });

  it("reports a value outside an enumeration", () => {
    assert.match(problems("listeners: [{port: 1, type: htttp}]")[0]!, /^listeners\[0\]\.type \(line 2\): Invalid option: expected one of "http"/);
    assert.match(problems("database: {name: mysql}")[0]!, /^database\.name \(line 2\): .*'sqlite3' \| 'psycopg2'/);
    assert.match(problems("listeners: [{port: 1, type: http, resources: [{names: [clients]}]}]")[0]!, /^listeners\[0\]\.resources\[0\]\.names\[0\]/);
  });

  it("reports every bad value at once, not only the first", () => {
    const p = problems("server_name: 'bad name'\nlisteners: [{port: 70000, type: http}]\nkey_refresh_interval: 5 minutes\nfederation_enabled: 'no'", false);
    assert.equal(p.length, 4, p.join("\n"));
    assert.match(p.join("\n"), /server_name \(line 1\)/);
    assert.match(p.join("\n"), /listeners\[0\]\.port \(line 2\)/);
    assert.match(p.join("\n"), /key_refresh_interval \(line 3\): "5 minutes" is not a duration/);
    assert.match(p.join("\n"), /federation_enabled \(line 4\)/);
  });

  it("reports YAML syntax errors with a line", () => {
    assert.match(problems("listeners: [\n  port: 1", false)[0]!, /^line \d+: YAML syntax/);
  });

  it("refuses a document that is not a mapping", () => {
    assert.match(problems("- a\n- b", false)[0]!, /must be a YAML mapping/);
  });
});

describe("parseConfig: unknown keys", () => {
  it("warns once per unknown key, at any depth, and still loads", () => {
    const { config, warnings } = parse("report_stats: false\nmacaroon_secret_key: x\nlisteners: [{port: 8008, type: http, request_id_header: X-Id, frobnicate: 1}]\ndatabase: {name: sqlite3, args: {database: h.db, cp_mux: 5}}");
    assert.equal(config.listeners[0]?.port, 8008);
    assert.deepEqual(warnings, [
      "listeners[0].frobnicate (line 4): unknown key, ignored",
      "database.args.cp_mux (line 5): unknown key, ignored (did you mean cp_max?)",
      "report_stats (line 2): unknown key, ignored",
      "macaroon_secret_key (line 3): unknown key, ignored",
    ]);
  });

  it("suggests the nearest known key at the same depth for a misspelt one", () => {
    const { warnings } = parse("federation_domain_whitlist: [a.example]\nlisteners: [{port: 8008, type: http, x_forwarder: true, resources: [{names: [client], compres: true}]}]\nfederation_custom_ca_lsit: [ca.pem]\ncompletely_unrelated_setting: 1");
    assert.deepEqual(warnings, [
      "listeners[0].resources[0].compres (line 3): unknown key, ignored (did you mean compress?)",
      "listeners[0].x_forwarder (line 3): unknown key, ignored (did you mean x_forwarded?)",
      "federation_domain_whitlist (line 2): unknown key, ignored (did you mean federation_domain_whitelist?)",
      "federation_custom_ca_lsit (line 4): unknown key, ignored (did you mean federation_custom_ca_list?)",
      "completely_unrelated_setting (line 5): unknown key, ignored",
    ]);
  });

  it("passes each warning to the warn callback", () => {
    const seen: string[] = [];
    parseConfig("server_name: a.example\nfoo: 1\n", { warn: (m) => seen.push(m) });
    assert.deepEqual(seen, ["foo (line 2): unknown key, ignored"]);
  });

  it("warns that a non-http listener is skipped", () => {
    const { warnings } = parse("listeners: [{port: 9000, type: manhole}]");
    assert.deepEqual(warnings, ['listeners[0].type (line 2): listener type "manhole" is not supported by Zion, this listener is skipped']);
  });

  it("warns that a metrics listener is skipped when enable_metrics is off, and accepts it silently when on", () => {
    const off = parse("listeners: [{port: 9000, type: metrics}]");
    assert.deepEqual(off.warnings, ["listeners[0].type (line 2): a metrics listener serves nothing unless enable_metrics is true, this listener is skipped"]);
    const on = parse("enable_metrics: true\nlisteners: [{port: 9000, type: metrics, bind_addresses: ['127.0.0.1']}]");
    assert.deepEqual(on.warnings, []);
    assert.equal(on.config.enable_metrics, true);
    assert.equal(parse("listeners: []").config.enable_metrics, false);
  });
});

describe("loadConfig", () => {
  it("loads a Synapse-generated homeserver.yaml with warnings only", () => {
    const dir = join(root, "test/fixtures/config/synapse-generated");
    const { config, warnings } = loadConfigWithWarnings(join(dir, "homeserver.yaml"));
    assert.deepEqual(warnings, [
      "report_stats (line 27): unknown key, ignored",
      "macaroon_secret_key (line 28): unknown key, ignored",
      "form_secret (line 29): unknown key, ignored",
    ]);
    assert.equal(config.server_name, "example.org");
    assert.equal(config.signing_key_path, join(dir, "example.org.signing.key"));
    assert.equal(config.log_level, "warn");
    assert.deepEqual(config.listeners[0]?.bind_addresses, ["::1", "127.0.0.1"]);
    assert.equal(config.listeners[0]?.x_forwarded, true);
    assert.deepEqual(config.database, { name: "sqlite3", args: { database: join(dir, "homeserver.db") } });
  });

  it("reports an unreadable config file", () => {
    assert.throws(() => loadConfigWithWarnings("/nonexistent/homeserver.yaml"), (e: unknown) => e instanceof ConfigError && /cannot read the config file: \/nonexistent\/homeserver\.yaml does not exist \(ENOENT\)/.test(e.message));
  });
});

describe("parseConfig: federation retry schedule (federation.*)", () => {
  it("defaults to Synapse's 10 minutes, x2, capped at 7 days", () => {
    assert.deepEqual(parse("").config.federation, { destination_min_retry_interval: 600_000, destination_retry_multiplier: 2, destination_max_retry_interval: 7 * 86_400_000, partial_joins: true });
  });
  it("turns partial joins off with federation.partial_joins: false", () => {
    assert.equal(parse("federation:\n  partial_joins: false").config.federation.partial_joins, false);
  });
  it("reads durations with suffixes and the multiplier", () => {
    const { config } = parse("federation:\n  destination_min_retry_interval: 30s\n  destination_retry_multiplier: 3\n  destination_max_retry_interval: 1h");
    assert.deepEqual(config.federation, { destination_min_retry_interval: 30_000, destination_retry_multiplier: 3, destination_max_retry_interval: 3_600_000, partial_joins: true });
  });
  it("refuses a cap below the minimum and a multiplier below 1, and warns of an unknown key, naming the key", () => {
    assert.match(problems("federation:\n  destination_min_retry_interval: 1h\n  destination_max_retry_interval: 1m").join("\n"), /federation.*destination_max_retry_interval must not be below/);
    assert.match(problems("federation:\n  destination_retry_multiplier: 0.5").join("\n"), /federation\.destination_retry_multiplier/);
    assert.match(parse("federation:\n  destination_retry_interval: 1m").warnings.join("\n"), /federation.*destination_retry_interval/);
  });
});
