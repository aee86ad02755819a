/**
 * https://spec.matrix.org/v1.16/client-server-api/#delete_matrixclientv3room_keysversionversion
 * Deletes the version and its keys; 404 M_NOT_FOUND when unknown. Its number is never given out again.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";

export const deleteBackupVersion = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/room_keys/version/:version",
  auth: "access-token",
  params: z.object({ version: z.string().min(1).max(32) }),
  async handle({ user, params }, { keyBackup }: Pick<UserDataDeps, "keyBackup">) {
    if (!(await keyBackup.deleteVersion(user.userId, params.version))) throw MatrixError.notFound(`unknown backup version ${params.version}`);
    return {};
  },
});
