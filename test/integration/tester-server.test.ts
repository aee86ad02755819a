/**
 * `zion start -c` serves the tester's API and page only when `federation_tester.enabled` is true.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../harness/server.js";

describe("federation_tester in zion start", { timeout: 60_000 }, () => {
  let on: TestServer;
  let off: TestServer;
  before(async () => {
    [on, off] = await Promise.all([
      startTestServer({ mode: "child", serverName: "tester-on.test", config: { federation_tester: { enabled: true } } }),
      startTestServer({ mode: "child", serverName: "tester-off.test" }),
    ]);
  });
  after(async () => {
    await Promise.all([on?.stop(), off?.stop()]);
  });

  it("serves the page and the API when enabled", async () => {
    const page = await fetch(`${on.clientUrl}/federation-tester`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<title>Zion federation tester<\/title>/);
    assert.equal((await fetch(`${on.clientUrl}/federation-tester/`)).status, 200, "with a trailing slash too");
    // An invalid name is a verdict, as in matrix-federation-tester: BAD, and a report saying why.
    const bad = await fetch(`${on.clientUrl}/api/federation-ok?server_name=${encodeURIComponent("not a name")}`);
    assert.equal(bad.status, 200);
    assert.equal(await bad.text(), "BAD");
    const report = (await (await fetch(`${on.clientUrl}/api/report?server_name=${encodeURIComponent("not a name")}`)).json()) as { Error?: string; FederationOK: boolean };
    assert.deepEqual([report.Error, report.FederationOK], ["Invalid server name 'not a name'", false]);
    const missing = await fetch(`${on.clientUrl}/api/report`);
    assert.equal(missing.status, 400);
  });

  it("serves neither when disabled (the default)", async () => {
    assert.equal((await fetch(`${off.clientUrl}/federation-tester`)).status, 404);
    assert.equal((await fetch(`${off.clientUrl}/api/report?server_name=x.test`)).status, 404);
  });
});
