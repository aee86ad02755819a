/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3room_keysversionversion
 * 1. The version must exist (404 M_NOT_FOUND).
 * 2. `version` in the body, when given, must be the path's (400 M_INVALID_PARAM); `algorithm` must be the
 *    version's own (400 M_INVALID_PARAM: the algorithm of a backup cannot change, as Synapse refuses too).
 * 3. auth_data is replaced.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { existingVersion } from "./backup-json.js";

export const updateBackupVersion = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/room_keys/version/:version",
  auth: "access-token",
  params: z.object({ version: z.string().min(1).max(32) }),
  body: z.looseObject({ algorithm: z.string().min(1).max(255), auth_data: z.looseObject({}), version: z.string().optional() }),
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body }, { keyBackup }: Pick<UserDataDeps, "keyBackup">) {
    const v = await existingVersion(keyBackup, user.userId, params.version);
    if (body.version !== undefined && body.version !== params.version) throw MatrixError.invalidParam("version", `differs from the path's version ${params.version}`);
    if (body.algorithm !== v.algorithm) throw MatrixError.invalidParam("algorithm", `the backup's algorithm is ${v.algorithm} and cannot change`);
    if (!(await keyBackup.updateVersion(user.userId, params.version, body.auth_data as JsonObject))) throw MatrixError.notFound(`unknown backup version ${params.version}`);
    return {};
  },
});
