/** The server's signing keys on disk, in Synapse's format (`ed25519 <version> <seed>` per line). */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatSigningKeyFile, parseSigningKeyFile, signingKeyFromSeed, type SigningKey } from "../core/crypto/index.js";
import { StartupError, errnoCode } from "./errors.js";

export function readSigningKeys(path: string): SigningKey[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new StartupError([`signing_key_path: cannot read ${path}: ${errnoCode(e)} (zion generate-config writes one)`]);
  }
  let keys: SigningKey[];
  try {
    keys = parseSigningKeyFile(text);
  } catch (e) {
    throw new StartupError([`signing_key_path: ${path}: ${(e as Error).message}`]);
  }
  if (keys.length === 0) throw new StartupError([`signing_key_path: ${path} holds no key`]);
  return keys;
}

/** A fresh key with a random version such as `a_Xy3Z`, Synapse-style. */
export function newSigningKey(): SigningKey {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(4);
  const version = `a_${[...bytes].map((b) => alphabet[b % alphabet.length]).join("")}`;
  return signingKeyFromSeed(version, randomBytes(32));
}

export function writeSigningKeyFile(path: string, keys: readonly SigningKey[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatSigningKeyFile(keys), { mode: 0o600 });
  chmodSync(path, 0o600);
}
