/**
 * Checks on one address's answer to GET /_matrix/key/v2/server:
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixkeyv2server
 *
 * 1. `server_name` is the server being tested;
 * 2. `valid_until_ts` is in the future;
 * 3. there is at least one ed25519 verify key, each a 32-byte key;
 * 4. the response is signed by the server with each of its verify keys (self-signature).
 *
 * The results fill matrix-federation-tester's `Checks` (KeyChecks) for the address, and become tester checks.
 */
import { verifyJsonSignature } from "../core/crypto/index.js";
import { decodeBase64 } from "../core/json/base64.js";
import type { JsonObject } from "../core/json/types.js";
import { makeCheck, type Check, type MftConnectionChecks, type MftEd25519Checks } from "./report.js";

export interface KeyCheckResult {
  readonly checks: Check[];
  readonly mft: Omit<MftConnectionChecks, "ValidCertificates">;
  readonly verifyKeys: Record<string, string> | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function checkServerKeys(body: unknown, serverName: string, now: number, address: string): KeyCheckResult {
  const checks: Check[] = [];
  const keys = isObject(body) ? body : {};
  // Step 1.
  const named = keys["server_name"];
  const matchingServerName = named === serverName;
  checks.push(matchingServerName
    ? makeCheck("keys.server-name", "ok", `server_name is ${serverName}`, { address })
    : makeCheck("keys.server-name", "fail", `the keys are for ${JSON.stringify(named ?? null)}, not ${serverName}`, {
      address,
      ...(typeof named === "string"
        ? { fix: `This address serves the homeserver "${named}". Set server_name: ${serverName} in that homeserver's configuration, or point ${serverName}'s delegation (.well-known or SRV) at the host that really serves ${serverName}.` }
        : {}),
    }));
  // Step 2.
  const vut = keys["valid_until_ts"];
  const futureValidUntil = typeof vut === "number" && vut > now;
  checks.push(futureValidUntil
    ? makeCheck("keys.valid-until", "ok", `valid until ${new Date(vut).toISOString()}`, { address })
    : makeCheck("keys.valid-until", "fail", typeof vut === "number" ? `valid_until_ts ${new Date(vut).toISOString()} is in the past` : "valid_until_ts is missing", { address }));
  // Steps 3 and 4.
  const verify = isObject(keys["verify_keys"]) ? keys["verify_keys"] : {};
  const ed: Record<string, MftEd25519Checks> = {};
  const verifyKeys: Record<string, string> = {};
  const problems: string[] = [];
  for (const [keyId, v] of Object.entries(verify)) {
    if (!keyId.startsWith("ed25519:")) continue;
    const b64 = isObject(v) ? v["key"] : undefined;
    let pub: Uint8Array | undefined;
    try {
      pub = typeof b64 === "string" ? decodeBase64(b64) : undefined;
    } catch {
      pub = undefined;
    }
    const valid = pub !== undefined && pub.length === 32;
    let matching = false;
    if (valid) {
      const r = verifyJsonSignature(keys as JsonObject, serverName, keyId, pub!);
      matching = r.ok;
      if (!r.ok) problems.push(`${keyId}: ${r.reason}`);
    } else {
      problems.push(`${keyId}: not a 32-byte base64 ed25519 key`);
    }
    ed[keyId] = { ValidEd25519: valid, MatchingSignature: matching };
    if (valid && matching) verifyKeys[keyId] = b64 as string;
  }
  const ids = Object.keys(ed);
  const hasEd25519 = ids.length > 0;
  const allEdOk = hasEd25519 ? ids.every((k) => ed[k]!.ValidEd25519 && ed[k]!.MatchingSignature) : null;
  if (!hasEd25519) {
    checks.push(makeCheck("keys.signature", "fail", "the response has no ed25519 verify key", { address }));
  } else if (allEdOk) {
    checks.push(makeCheck("keys.signature", "ok", `signed by ${serverName} with ${ids.join(", ")}`, { address }));
  } else {
    checks.push(makeCheck("keys.signature", "fail", `the self-signature does not verify: ${problems.join("; ")}`, { address }));
  }
  const all = matchingServerName && futureValidUntil && hasEd25519 && allEdOk === true;
  return {
    checks,
    mft: {
      AllChecksOK: all,
      MatchingServerName: matchingServerName,
      FutureValidUntilTS: futureValidUntil,
      HasEd25519Key: hasEd25519,
      AllEd25519ChecksOK: allEdOk,
      Ed25519Checks: ed,
    },
    verifyKeys: all ? verifyKeys : null,
  };
}
