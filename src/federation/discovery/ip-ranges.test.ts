import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IpRangePolicy, InvalidIpRangeError, embeddedIPv4, ipv6FormsOf } from "./ip-ranges.js";

describe("IP range policy", () => {
  const def = new IpRangePolicy();
  it("blocks Synapse's default private, loopback and link-local ranges", () => {
    for (const ip of ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.1.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1"]) {
      assert.equal(def.check(ip).ok, false, ip);
    }
    assert.equal(def.check("8.8.8.8").ok, true);
    assert.equal(def.check("2606:4700::1111").ok, true);
  });

  it("lets ip_range_whitelist override the blacklist, but never 0.0.0.0 or ::", () => {
    const p = new IpRangePolicy(undefined, ["127.0.2.0/24", "0.0.0.0/0"]);
    assert.equal(p.check("127.0.2.9").ok, true);
    assert.equal(p.check("127.0.3.9").ok, true, "0.0.0.0/0 whitelists all IPv4");
    assert.equal(p.check("0.0.0.0").ok, false);
    assert.equal(new IpRangePolicy(undefined, ["127.0.2.0/24"]).check("127.0.3.9").ok, false);
  });

  it("blocks every blocked IPv4 range in its IPv4-compatible, IPv4-mapped and 6to4 forms, as Synapse does", () => {
    const forms: Record<string, string[]> = {
      "127.0.0.1": ["::127.0.0.1", "::7f00:1", "::ffff:127.0.0.1", "::ffff:7f00:1", "2002:7f00:1::", "2002:7f00:1:ffff::1"],
      "10.1.2.3": ["::10.1.2.3", "::ffff:a01:203", "2002:a01:203::1"],
      "192.168.7.8": ["::192.168.7.8", "::ffff:192.168.7.8", "2002:c0a8:708::"],
      "169.254.1.1": ["::169.254.1.1", "::ffff:169.254.1.1", "2002:a9fe:101::"],
    };
    for (const [v4, v6s] of Object.entries(forms)) {
      assert.equal(def.check(v4).ok, false, v4);
      for (const ip of v6s) {
        const v = def.check(ip);
        assert.equal(v.ok, false, ip);
        if (!v.ok) assert.match(v.reason, new RegExp(`form of ${v4.replace(/\./g, "\\.")}\\) is in ip_range_blacklist`), ip);
      }
    }
    // The same forms of a public address stay allowed, and so does a 6to4 address of a public IPv4 address.
    for (const ip of ["::ffff:8.8.8.8", "::8.8.8.8", "2002:808:808::1"]) assert.equal(def.check(ip).ok, true, ip);
  });

  it("applies ip_range_whitelist to the same IPv6 forms, so a whitelisted IPv4 range is reachable through them", () => {
    const p = new IpRangePolicy(undefined, ["127.0.2.0/24"]);
    for (const ip of ["::ffff:127.0.2.9", "::127.0.2.9", "2002:7f00:209::"]) assert.equal(p.check(ip).ok, true, ip);
    assert.equal(p.check("::ffff:127.0.3.9").ok, false);
  });

  it("derives the IPv6 subnets of an IPv4 subnet and names the IPv4 address an IPv6 one carries", () => {
    assert.deepEqual(ipv6FormsOf("127.0.0.0", 8), [["::127.0.0.0", 104], ["::ffff:127.0.0.0", 104], ["2002:7f00:0::", 24]]);
    assert.deepEqual(embeddedIPv4("2002:7f00:1::"), { v4: "127.0.0.1", form: "6to4" });
    assert.deepEqual(embeddedIPv4("::ffff:7f00:1"), { v4: "127.0.0.1", form: "IPv4-mapped" });
    assert.deepEqual(embeddedIPv4("::127.0.0.1"), { v4: "127.0.0.1", form: "IPv4-compatible" });
    assert.equal(embeddedIPv4("::1"), undefined);
    assert.equal(embeddedIPv4("2606:4700::1111"), undefined);
  });

  it("refuses malformed ranges with the range in the message", () => {
    assert.throws(() => new IpRangePolicy(["10.0.0.0/33"]), InvalidIpRangeError);
    assert.throws(() => new IpRangePolicy(["not-an-ip"]), /not-an-ip/);
  });
});
