/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysdevice_signingupload
 * 1. Each key given (master_key, self_signing_key, user_signing_key) must be the token's user's, with its usage and
 *    exactly one ed25519 key `ed25519:<public key>` (400 M_INVALID_PARAM naming the field).
 * 2. self_signing_key and user_signing_key must be signed by the master key: the one in the request, else the
 *    stored one (400 M_INVALID_SIGNATURE; 400 M_INVALID_PARAM when there is no master key at all).
 * 3. User-interactive auth (m.login.password) is required, except, as the spec allows since v1.11 (MSC3967) and
 *    Synapse does: when the user has no master key yet (the first upload), or when every key in the request is the
 *    one already stored (a retry after a lost response; nothing is written then).
 * 4. The keys are stored and the user's device list changes (watchers see it in /keys/changes and /sync).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { CrossSigningKeyRecord, CrossSigningKeyType } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps, UserDataDeps } from "../deps.js";
import { requirePassword } from "../shared/password-stage.js";
import { UiaAuth } from "../shared/uia.js";
import { CrossSigningKey, crossSigningRecord, signedBy } from "./key-objects.js";

const FIELDS: readonly [CrossSigningKeyType, "master_key" | "self_signing_key" | "user_signing_key"][] = [
  ["master", "master_key"],
  ["self_signing", "self_signing_key"],
  ["user_signing", "user_signing_key"],
];

export const uploadDeviceSigningKeys = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/device_signing/upload",
  auth: "access-token",
  body: z.looseObject({
    master_key: CrossSigningKey.optional(),
    self_signing_key: CrossSigningKey.optional(),
    user_signing_key: CrossSigningKey.optional(),
    auth: UiaAuth.optional(),
  }),
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, body }, deps: Pick<UserDataDeps, "e2ee"> & Pick<AccountDeps, "users" | "passwords" | "uia" | "serverName" | "rateLimits">) {
    const keys: CrossSigningKeyRecord[] = [];
    for (const [type, field] of FIELDS) {
      const k = body[field];
      if (k) keys.push(crossSigningRecord(k, type, user.userId, field));
    }
    const stored = (await deps.e2ee.getCrossSigningKeys([user.userId])).get(user.userId);
    const master = keys.find((k) => k.type === "master") ?? stored?.get("master");
    for (const k of keys) {
      if (k.type === "master") continue;
      const field = k.type === "self_signing" ? "self_signing_key" : "user_signing_key";
      if (!master) throw MatrixError.invalidParam(field, "needs a master key: upload master_key first or with it");
      if (!signedBy(k.key, user.userId, `ed25519:${master.publicKey}`, master.publicKey)) {
        throw new MatrixError("M_INVALID_SIGNATURE", 400, `${field}: not signed by the master key ed25519:${master.publicKey}`);
      }
    }
    const storedMaster = stored?.get("master");
    if (storedMaster) {
      // A key counts as the stored one when its public key is (the stored copy carries the signatures
      // /keys/signatures/upload merged in, so whole objects would differ for a plain retry).
      const same = keys.every((k) => {
        const s = stored!.get(k.type);
        return s !== undefined && s.publicKey === k.publicKey;
      });
      if (same) return {};
      const pending = await requirePassword(deps, "device-signing-upload", user.userId, body.auth);
      if (pending) return pending;
    }
    if (keys.length > 0) await deps.e2ee.setCrossSigningKeys(user.userId, keys);
    return {};
  },
});
