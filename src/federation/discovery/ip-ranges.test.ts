import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IpRangePolicy, InvalidIpRangeError } from "./ip-ranges.js";

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

  it("refuses malformed ranges with the range in the message", () => {
    assert.throws(() => new IpRangePolicy(["10.0.0.0/33"]), InvalidIpRangeError);
    assert.throws(() => new IpRangePolicy(["not-an-ip"]), /not-an-ip/);
  });
});
