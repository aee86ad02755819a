/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3room_keysversion and
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3room_keysversionversion
 * `{algorithm, auth_data, count, etag, version}` of the current (or the named) version; 404 M_NOT_FOUND when there
 * is none.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { existingVersion, versionJson } from "./backup-json.js";

export const getCurrentBackupVersion = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/room_keys/version",
  auth: "access-token",
  async handle({ user }, { keyBackup }: Pick<UserDataDeps, "keyBackup">) {
    const v = await keyBackup.getVersion(user.userId);
    if (!v) throw MatrixError.notFound("no current backup version");
    return versionJson(v);
  },
});

export const getBackupVersion = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/room_keys/version/:version",
  auth: "access-token",
  params: z.object({ version: z.string().min(1).max(32) }),
  async handle({ user, params }, { keyBackup }: Pick<UserDataDeps, "keyBackup">) {
    return versionJson(await existingVersion(keyBackup, user.userId, params.version));
  },
});
