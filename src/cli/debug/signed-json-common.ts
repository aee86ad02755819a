/**
 * Plumbing shared by the signed-JSON debug commands (canonical-json,
 * sign-json, verify-json, event-id, redact, check-pdu): read stdin as bytes
 * and parse it strictly, resolve --room-version, parse --verify-key values,
 * and turn any typed error into the one-line reason + exit 2 of io.ts.
 */
import { MatrixError } from "../../core/errors.js";
import { decodeBase64 } from "../../core/json/base64.js";
import type { RoomVersionRules } from "../../core/room-versions/rules.js";
import { failUsage, roomVersionOrExit } from "./io.js";

export { readJsonInput, readJsonObjectInput } from "./io.js";

export function rulesOption(version: unknown): RoomVersionRules {
  return roomVersionOrExit(version);
}

export interface VerifyKeyArg {
  readonly serverName: string | undefined;
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/**
 * Parses `ed25519:ID=BASE64`, or with `withServer` `NAME:ed25519:ID=BASE64`
 * (the name may itself contain ':' for a port).
 */
export function parseVerifyKey(arg: string, withServer: boolean): VerifyKeyArg {
  const eq = arg.indexOf("=");
  const form = withServer ? "NAME:ed25519:ID=BASE64" : "ed25519:ID=BASE64";
  if (eq < 0) failUsage(`--verify-key ${JSON.stringify(arg)}: expected ${form}`);
  const left = arg.slice(0, eq);
  const at = withServer ? left.lastIndexOf(":ed25519:") : 0;
  if (withServer ? at <= 0 : !left.startsWith("ed25519:")) failUsage(`--verify-key ${JSON.stringify(arg)}: expected ${form}`);
  const keyId = withServer ? left.slice(at + 1) : left;
  if (!/^ed25519:[A-Za-z0-9_]+$/.test(keyId)) failUsage(`--verify-key ${JSON.stringify(arg)}: key id ${JSON.stringify(keyId)} must be ed25519: and letters, digits or '_'`);
  let publicKey: Uint8Array;
  try {
    publicKey = decodeBase64(arg.slice(eq + 1));
  } catch (e) {
    failUsage(`--verify-key ${JSON.stringify(arg)}: the key is ${(e as Error).message}`);
  }
  if (publicKey.length !== 32) failUsage(`--verify-key ${JSON.stringify(arg)}: an ed25519 public key is 32 bytes, this is ${publicKey.length}`);
  return { serverName: withServer ? left.slice(0, at) : undefined, keyId, publicKey };
}

export { collect } from "./io.js";

/** Runs a command body; a MatrixError (typed input error) becomes one line on stderr and exit 2. */
export async function run(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof MatrixError) failUsage(e.message);
    throw e;
  }
}
