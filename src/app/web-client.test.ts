import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config/index.js";
import { StartupError } from "./errors.js";
import { webClientServerOptions } from "./web-client.js";

const config = (yaml: string) => parseConfig(`server_name: example.org\npublic_baseurl: https://matrix.example.org/\n${yaml}`, { baseDir: "/tmp" });
const describeRoutes = (o: ReturnType<typeof webClientServerOptions>) => o.routes.map((r) => `${r.method} ${r.path} ${r.resource}`);

describe("webClientServerOptions", () => {
  const dir = mkdtempSync(join(tmpdir(), "zion-web-client-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "bundle", "assets"), { recursive: true });
  writeFileSync(join(dir, "bundle", "index.html"), "<!DOCTYPE html>");
  writeFileSync(join(dir, "bundle", "assets", "main-AAAA1111.js"), "1");

  it("adds nothing when web_client is off and web_client_location unset (the default)", () => {
    const o = webClientServerOptions(config(""), join(dir, "missing"));
    assert.deepEqual(o.routes, []);
    assert.deepEqual(o.deps, {});
  });

  it("serves the bundle with config.json pointing at public_baseurl, and redirects / there on client listeners", () => {
    const o = webClientServerOptions(config("web_client: {enabled: true}"), join(dir, "bundle"));
    assert.deepEqual(describeRoutes(o), ["GET /_zion/client client", "GET /_zion/client/* client", "GET / client"]);
    const bundle = o.deps["webClient"] as { file(p: string): { body: Uint8Array } | undefined };
    assert.deepEqual(JSON.parse(Buffer.from(bundle.file("config.json")!.body).toString()), { defaultHomeServer: "https://matrix.example.org" });
    assert.ok(bundle.file("assets/main-AAAA1111.js"), "files in sub-folders are found by their relative path");
  });

  it("redirects / to web_client_location on every listener when it is set, with or without the bundle", () => {
    assert.deepEqual(describeRoutes(webClientServerOptions(config("web_client_location: https://app.example.org/"), join(dir, "missing"))), ["GET / public"]);
    const both = webClientServerOptions(config("web_client_location: https://app.example.org/\nweb_client: {enabled: true}"), join(dir, "bundle"));
    assert.deepEqual(describeRoutes(both), ["GET /_zion/client client", "GET /_zion/client/* client", "GET / public"]);
  });

  it("stops start-up when web_client.enabled but the bundle was not built, naming the key and the fix", () => {
    assert.throws(
      () => webClientServerOptions(config("web_client: {enabled: true}"), join(dir, "missing")),
      (e: unknown) => e instanceof StartupError && /web_client\.enabled: the web client is not built .*npm run build/.test(e.problems.join("\n")),
    );
  });
});
