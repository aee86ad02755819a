/**
 * The keys of local users as /keys/query answers them, shared by the client route and the federation route
 * (POST /_matrix/federation/v1/user/keys/query).
 * 1. Each device's keys with the device's display name in `unsigned.device_display_name`.
 * 2. Master and self-signing keys with the signatures of /keys/signatures/upload made by `signers(owner)` only;
 *    the user-signing key only when `withUserSigning(owner)` (the spec: only to the user itself).
 */
import type { UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { E2eeStore, UserStore } from "../../../storage/ports.js";

/** Keeps the signatures made by `allowed` users only. */
export function signaturesBy(key: JsonObject, allowed: ReadonlySet<string>): JsonObject {
  const sigs = key["signatures"];
  if (sigs === undefined || sigs === null || typeof sigs !== "object") return key;
  return { ...key, signatures: Object.fromEntries(Object.entries(sigs).filter(([signer]) => allowed.has(signer))) };
}

/** A device's keys with its display name added under `unsigned` (as /keys/query shows them). */
export function withDisplayName(key: JsonObject, name: string | null | undefined): JsonObject {
  return name ? { ...key, unsigned: { ...((key["unsigned"] as JsonObject | undefined) ?? {}), device_display_name: name } } : key;
}

export interface LocalKeysAnswer {
  device_keys: Record<string, Record<string, JsonObject>>;
  master_keys: Record<string, JsonObject>;
  self_signing_keys: Record<string, JsonObject>;
  user_signing_keys: Record<string, JsonObject>;
}

export async function localKeys(
  { e2ee, users }: { e2ee: Pick<E2eeStore, "getDeviceKeys" | "getCrossSigningKeys">; users: Pick<UserStore, "getDevices"> },
  local: readonly { readonly userId: UserId; readonly deviceIds: readonly string[] }[],
  signers: (owner: UserId) => ReadonlySet<string>,
  withUserSigning: (owner: UserId) => boolean,
): Promise<LocalKeysAnswer> {
  const [deviceKeys, crossSigning] = await Promise.all([e2ee.getDeviceKeys(local), e2ee.getCrossSigningKeys(local.map((l) => l.userId))]);
  const out: LocalKeysAnswer = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
  for (const { userId } of local) {
    const devices = deviceKeys.get(userId);
    const mine: Record<string, JsonObject> = {};
    out.device_keys[userId] = mine;
    if (!devices) continue;
    const names = new Map((await users.getDevices(userId)).map((d) => [d.deviceId, d.displayName]));
    for (const [deviceId, key] of devices) mine[deviceId] = withDisplayName(key, names.get(deviceId));
  }
  for (const [userId, keys] of crossSigning) {
    const allowed = signers(userId);
    const m = keys.get("master");
    const s = keys.get("self_signing");
    const u = keys.get("user_signing");
    if (m) out.master_keys[userId] = signaturesBy(m.key, allowed);
    if (s) out.self_signing_keys[userId] = signaturesBy(s.key, allowed);
    if (u && withUserSigning(userId)) out.user_signing_keys[userId] = u.key;
  }
  return out;
}
