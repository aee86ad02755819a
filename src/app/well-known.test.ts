import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/index.js";
import { wellKnownServerValue } from "./homeserver.js";

const base = "server_name: example.org\ntls_certificate_path: c.pem\ntls_private_key_path: k.pem\n";

describe("wellKnownServerValue (m.server of /.well-known/matrix/server)", () => {
  it("is absent while serve_server_wellknown is off", () => {
    assert.equal(wellKnownServerValue(parseConfig(base)), undefined);
  });

  it("uses well_known_server when set", () => {
    assert.equal(wellKnownServerValue(parseConfig(`${base}serve_server_wellknown: true\nwell_known_server: matrix.example.org:443\n`)), "matrix.example.org:443");
  });

  it("points at the TLS federation listener's port on the server name's host", () => {
    const c = parseConfig(`${base}serve_server_wellknown: true\nlisteners: [{port: 8008, type: http, resources: [{names: [client]}]}, {port: 8449, type: http, tls: true, resources: [{names: [federation]}]}]\n`);
    assert.equal(wellKnownServerValue(c), "example.org:8449");
  });

  it("falls back to public_baseurl's host and port (443 by default) behind a TLS-terminating proxy", () => {
    const plain = "listeners: [{port: 8008, type: http, x_forwarded: true, resources: [{names: [client, federation]}]}]\n";
    assert.equal(wellKnownServerValue(parseConfig(`${base}serve_server_wellknown: true\npublic_baseurl: https://matrix.example.org/\n${plain}`)), "matrix.example.org:443");
    assert.equal(wellKnownServerValue(parseConfig(`${base}serve_server_wellknown: true\npublic_baseurl: https://m.example.org:8443/\n${plain}`)), "m.example.org:8443");
  });
});
