// Test-only helpers shared by the events tests (not exported from index.ts).
import { signingKeyFromSeed, type SigningKey } from "../crypto/keys.js";
import { sha256 } from "../crypto/primitives.js";
import type { KeyLookup } from "../crypto/sign.js";

export function testKey(server: string, version = "k1"): SigningKey {
  return signingKeyFromSeed(version, sha256(new TextEncoder().encode(`${server}/${version}`)));
}

/** A key lookup over a fixed list of (server, key, validUntilTs). */
export function lookupOf(entries: readonly { server: string; key: SigningKey; validUntilTs?: number }[]): KeyLookup {
  return (server, keyId) => {
    const e = entries.find((x) => x.server === server && x.key.keyId === keyId);
    if (!e) return undefined;
    return e.validUntilTs === undefined ? { publicKey: e.key.publicKey } : { publicKey: e.key.publicKey, validUntilTs: e.validUntilTs };
  };
}
