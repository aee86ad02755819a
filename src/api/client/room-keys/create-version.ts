/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3room_keysversion
 * A new backup version with `algorithm` and `auth_data` (stored as given); it becomes the current version.
 */
import { z } from "zod";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";

export const createBackupVersion = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/room_keys/version",
  auth: "access-token",
  body: z.looseObject({ algorithm: z.string().min(1).max(255), auth_data: z.looseObject({}) }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, body }, { keyBackup }: Pick<UserDataDeps, "keyBackup">) {
    return { version: await keyBackup.createVersion(user.userId, body.algorithm, body.auth_data as JsonObject) };
  },
});
