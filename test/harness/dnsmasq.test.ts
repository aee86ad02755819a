import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startDnsmasq, type Dnsmasq } from "./dnsmasq.js";

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return "ok";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
};

describe("dnsmasq harness", () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await startDnsmasq({
      a: { "hs1.test": ["127.0.2.1", "127.0.2.2"] },
      aaaa: { "six.test": ["::1"] },
      srv: [
        { name: "_matrix-fed._tcp.hs1.test", target: "hs1.test", port: 8448, priority: 10, weight: 5 },
        { name: "_matrix-fed._tcp.hs1.test", target: "b.test", port: 8449, priority: 20, weight: 0 },
      ],
      cname: { "alias.test": "hs1.test" },
      refused: ["broken.test"],
    });
  });
  after(async () => {
    await dns.stop();
  });

  it("answers A, AAAA, SRV and CNAME records it was given", async () => {
    const r = dns.resolver();
    assert.deepEqual((await r.resolve4("hs1.test")).sort(), ["127.0.2.1", "127.0.2.2"]);
    assert.deepEqual(await r.resolve6("six.test"), ["::1"]);
    // Node 24 adds a `type: "SRV"` field to each record; compare the record's own fields.
    const srv = (await r.resolveSrv("_matrix-fed._tcp.hs1.test"))
      .map(({ name, port, priority, weight }) => ({ name, port, priority, weight }))
      .sort((x, y) => x.priority - y.priority);
    assert.deepEqual(srv, [
      { name: "hs1.test", port: 8448, priority: 10, weight: 5 },
      { name: "b.test", port: 8449, priority: 20, weight: 0 },
    ]);
    assert.deepEqual(await r.resolveCname("alias.test"), ["hs1.test"]);
  });

  it("says NXDOMAIN for unknown names, NODATA for missing types and REFUSED for broken domains", async () => {
    const r = dns.resolver();
    assert.equal(await code(r.resolve4("nothing.test")), "ENOTFOUND");
    assert.equal(await code(r.resolve6("hs1.test")), "ENODATA");
    assert.equal(await code(r.resolveSrv("_matrix._tcp.x.broken.test")), "EREFUSED");
  });

  it("replaces the records on setRecords, on the same address and port", async () => {
    const before = dns.server;
    await dns.setRecords({ a: { "new.test": ["127.0.2.9"] } });
    assert.equal(dns.server, before);
    const r = dns.resolver();
    assert.deepEqual(await r.resolve4("new.test"), ["127.0.2.9"]);
    assert.equal(await code(r.resolve4("hs1.test")), "ENOTFOUND");
  });
});
