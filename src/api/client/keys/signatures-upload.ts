/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keyssignaturesupload
 * Body `{user id: {key id: signed key}}`, at most 1,000 keys; the key id is a device id or a cross-signing public
 * key. For each key (a failure is reported per key in `failures`, the others are still stored):
 * 1. The key must be stored (M_NOT_FOUND) and the uploaded object must be it, signatures aside (M_INVALID_PARAM).
 * 2. The new signatures by the requester must be by the key allowed for that target (the spec's cross-signing
 *    rules): one's own device by one's self-signing key; one's own master key by one of one's devices; another
 *    user's master key by one's user-signing key. Each must verify (M_INVALID_SIGNATURE); none at all is
 *    M_INVALID_SIGNATURE too.
 * 3. Valid signatures are stored and merged into the key for /keys/query; the target's device list changes.
 * Keys of other servers' users are failures until federation carries signatures.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { KeySignature } from "../../../storage/ports.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { MAX_KEY_ID, signedBy, unsignedContent } from "./key-objects.js";

const MAX_KEYS = 1000;
type Failure = { errcode: string; error: string };

export const uploadSignatures = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/keys/signatures/upload",
  auth: "access-token",
  body: z.record(z.string().max(255), z.record(z.string().min(1).max(MAX_KEY_ID), z.looseObject({}))),
  maxBodyBytes: 1024 * 1024,
  async handle({ user, body }, { e2ee, serverName }: Pick<UserDataDeps, "e2ee" | "serverName">) {
    const entries = Object.entries(body).flatMap(([u, keys]) => Object.entries(keys).map(([keyId, obj]) => ({ rawUser: u, keyId, obj: obj as JsonObject })));
    if (entries.length > MAX_KEYS) throw MatrixError.invalidParam("body", `at most ${MAX_KEYS} keys per upload`);
    const me = user.userId;
    const targets = [...new Set(entries.map((e) => parseUserId(e.rawUser, e.rawUser)))].filter((u) => serverOfUserId(u) === serverName);
    const cross = await e2ee.getCrossSigningKeys([...new Set([me, ...targets])]);
    const devices = await e2ee.getDeviceKeys(targets.map((userId) => ({ userId, deviceIds: [] })));
    const mine = cross.get(me);
    const myDevices = devices.get(me) ?? (await e2ee.getDeviceKeys([{ userId: me, deviceIds: [] }])).get(me);

    const failures: Record<string, Record<string, Failure>> = {};
    const fail = (u: string, k: string, errcode: string, error: string): void => {
      (failures[u] ??= {})[k] = { errcode, error };
    };
    const accepted: KeySignature[] = [];
    for (const { rawUser, keyId, obj } of entries) {
      const target = rawUser as UserId;
      if (serverOfUserId(target) !== serverName) {
        fail(rawUser, keyId, "M_UNRECOGNIZED", "signatures on other servers' keys are not supported yet");
        continue;
      }
      const device = devices.get(target)?.get(keyId);
      const targetCross = cross.get(target);
      const master = targetCross?.get("master");
      const stored = device ?? (master?.publicKey === keyId ? master.key : undefined);
      if (!stored) {
        fail(rawUser, keyId, "M_NOT_FOUND", `no device or master key ${keyId} of ${target}`);
        continue;
      }
      if (unsignedContent(obj) !== unsignedContent(stored)) {
        fail(rawUser, keyId, "M_INVALID_PARAM", "the signed object differs from the stored key");
        continue;
      }
      // Which of the requester's keys may sign this target.
      let allowed: (signerKeyId: string) => string | undefined;
      if (target === me && device) {
        const ssk = mine?.get("self_signing");
        allowed = (id) => (ssk && id === `ed25519:${ssk.publicKey}` ? ssk.publicKey : undefined);
      } else if (target === me) {
        allowed = (id) => {
          const dev = myDevices?.get(id.slice("ed25519:".length));
          const pub = dev ? (dev["keys"] as Record<string, string> | undefined)?.[id] : undefined;
          return id.startsWith("ed25519:") && typeof pub === "string" ? pub : undefined;
        };
      } else if (!device) {
        const usk = mine?.get("user_signing");
        allowed = (id) => (usk && id === `ed25519:${usk.publicKey}` ? usk.publicKey : undefined);
      } else {
        fail(rawUser, keyId, "M_FORBIDDEN", "only a user's master key may be signed by another user");
        continue;
      }
      const old = ((stored["signatures"] as Record<string, Record<string, string>> | undefined) ?? {})[me] ?? {};
      const sent = ((obj["signatures"] as Record<string, Record<string, unknown>> | undefined) ?? {})[me] ?? {};
      const fresh = Object.entries(sent).filter(([id, sig]) => old[id] !== sig);
      const good: KeySignature[] = [];
      let bad: string | undefined;
      for (const [signerKeyId, sig] of fresh) {
        const pub = allowed(signerKeyId);
        if (pub === undefined || typeof sig !== "string") continue;
        if (signedBy(obj, me, signerKeyId, pub)) {
          good.push({ targetUserId: target, targetKeyId: keyId, signerUserId: me, signerKeyId, signature: sig });
        } else {
          bad = `the signature by ${signerKeyId} does not verify`;
        }
      }
      // A key with one bad signature stores none of its new ones.
      if (bad !== undefined) fail(rawUser, keyId, "M_INVALID_SIGNATURE", bad);
      else if (good.length === 0 && fresh.length > 0) fail(rawUser, keyId, "M_INVALID_SIGNATURE", "no new signature by a key allowed to sign this key");
      else accepted.push(...good);
    }
    if (accepted.length > 0) await e2ee.addSignatures(accepted);
    return { failures };
  },
});
