import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { turnCredentials } from "./turn-server.js";

describe("turnCredentials", () => {
  it("makes coturn's TURN REST credentials: <expiry seconds>:<user id> and padded base64 HMAC-SHA1", () => {
    // Expected password from openssl, independent of this code:
    //   printf '%s' '1700003600:@alice:example.org' | openssl dgst -sha1 -hmac 'coturn secret' -binary | base64
    const c = turnCredentials("coturn secret", "@alice:example.org", 1_700_000_000_000, 3_600_000);
    assert.deepEqual(c, { username: "1700003600:@alice:example.org", password: "1kEigTMWVRTEuq6RtIbIg6kC9fc=" });
  });

  it("truncates the expiry to whole seconds when now + lifetime is not a whole second", () => {
    assert.equal(turnCredentials("s", "@a:b", 1_700_000_000_999, 0).username, "1700000000:@a:b");
  });
});
