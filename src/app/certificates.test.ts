import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultAcmeDomains } from "./certificates.js";
import type { HomeserverConfig } from "../config/index.js";

type Names = Pick<HomeserverConfig, "server_name" | "public_baseurl" | "well_known_server" | "serve_server_wellknown">;
const cfg = (c: Partial<Omit<Names, "server_name">> & { server_name: string }): Names =>
  ({ public_baseurl: `https://${c.server_name}/`, serve_server_wellknown: false, ...c }) as Names;

describe("defaultAcmeDomains", () => {
  it("covers the server name when it is the federation host (no delegation), once", () => {
    assert.deepEqual(defaultAcmeDomains(cfg({ server_name: "example.org" })), ["example.org"]);
    assert.deepEqual(defaultAcmeDomains(cfg({ server_name: "example.org:8448" })), ["example.org"]);
  });

  it("covers the delegated host under .well-known delegation, and public_baseurl's host", () => {
    const c = cfg({ server_name: "example.org", well_known_server: "matrix.example.org:443", public_baseurl: "https://chat.example.org/" });
    assert.deepEqual(defaultAcmeDomains(c), ["matrix.example.org", "chat.example.org"]);
  });

  it("adds the server name when Zion serves the .well-known file there itself", () => {
    const c = cfg({ server_name: "example.org", well_known_server: "matrix.example.org", serve_server_wellknown: true, public_baseurl: "https://matrix.example.org/" });
    assert.deepEqual(defaultAcmeDomains(c), ["matrix.example.org", "example.org"]);
  });

  it("leaves out IP literals, which ACME does not issue DNS certificates for", () => {
    assert.deepEqual(defaultAcmeDomains(cfg({ server_name: "127.0.0.1:8448", public_baseurl: "https://hs.test/" })), ["hs.test"]);
  });
});
