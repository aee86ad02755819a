import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter, TesterApi } from "./http-api.js";
import { ReportBuilder } from "./report.js";

function fakeClock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe("TesterApi", () => {
  it("limits tests per client address per window, then lets the client in again", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(2, 60_000, clock);
    assert.equal(rl.take("a"), 0);
    assert.equal(rl.take("a"), 0);
    assert.equal(rl.take("a"), 60_000);
    assert.equal(rl.take("b"), 0, "another address has its own budget");
    clock.advance(60_000);
    assert.equal(rl.take("a"), 0);
  });

  it("holds at most maxKeys client windows however many addresses ask within one window, dropping the oldest", () => {
    const clock = fakeClock();
    const rl = new RateLimiter(1, 60_000, clock, 100);
    for (let i = 0; i < 1_000; i++) assert.equal(rl.take(`addr-${i}`), 0);
    assert.equal(rl.size, 100);
    assert.equal(rl.take("addr-999"), 60_000, "the newest windows are kept, so a recent client is still limited");
    assert.equal(rl.take("addr-0"), 0, "the oldest window was dropped");
  });

  it("answers GOOD/BAD and the JSON report, shares one run per server name for a few seconds, and refuses bad names", async () => {
    const clock = fakeClock(1000);
    let runs = 0;
    const api = new TesterApi({
      clock, maxPerWindow: 10,
      run: async (name) => {
        runs++;
        const b = new ReportBuilder("federation-test", name, clock.now());
        if (name === "good.test") b.ok("name.valid", "fine");
        else b.fail("conn.tcp", "refused");
        return b.finish(clock.now());
      },
    });
    const good = await api.federationOk({ server_name: "good.test" }, "1.2.3.4");
    assert.equal(good.body, "GOOD");
    assert.equal(good.headers["access-control-allow-origin"], "*");
    assert.equal((await api.federationOk({ server_name: "bad.test" }, "1.2.3.4")).body, "BAD");
    const rep = await api.report({ server_name: "good.test" }, "1.2.3.4");
    assert.equal(rep.status, 200);
    assert.equal((JSON.parse(rep.body) as { FederationOK: boolean }).FederationOK, true);
    assert.equal(runs, 2, "the second good.test request reused the first run");
    clock.advance(10_000);
    await api.report({ server_name: "good.test" }, "1.2.3.4");
    assert.equal(runs, 3);
    assert.equal((await api.report({}, "1.2.3.4")).status, 400);
    assert.match(api.page().body, /<!doctype html>/);
  });

  it("answers an invalid server name with a report (Error, FederationOK false) and BAD, as matrix-federation-tester does, without using the client's budget", async () => {
    const clock = fakeClock(1000);
    let runs = 0;
    const api = new TesterApi({ clock, maxPerWindow: 1, run: async (name) => { runs++; return new ReportBuilder("federation-test", name, 0).finish(1); } });
    for (let i = 0; i < 3; i++) {
      const rep = await api.report({ server_name: "a b" }, "1.2.3.4");
      assert.equal(rep.status, 200);
      const j = JSON.parse(rep.body) as { Error?: string; FederationOK: boolean; Zion: { Checks: { id: string; status: string; detail: string }[] } };
      assert.equal(j.Error, "Invalid server name 'a b'");
      assert.equal(j.FederationOK, false);
      assert.equal(j.Zion.Checks[0]?.id, "name.valid");
      assert.equal(j.Zion.Checks[0]?.status, "fail");
    }
    const ok = await api.federationOk({ server_name: "no way!" }, "1.2.3.4");
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "BAD");
    assert.equal(runs, 0, "no test ran for an invalid name");
    assert.equal((await api.report({ server_name: "fine.test" }, "1.2.3.4")).status, 200, "the client's one test is still there");
  });
});
