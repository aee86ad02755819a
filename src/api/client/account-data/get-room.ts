/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3useruseridroomsroomidaccount_datatype
 * Only one's own (403 M_FORBIDDEN); the room id must be a room id (400 M_INVALID_PARAM); unset: 404 M_NOT_FOUND.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ownUser } from "../shared/own-user.js";
import { RoomParams, roomIdOf } from "./account-data-rules.js";

export const getRoomAccountData = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type",
  auth: "access-token",
  params: RoomParams,
  async handle({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "get account data");
    const content = await accountData.get(userId, roomIdOf(params.roomId), params.type);
    if (!content) throw MatrixError.notFound(`no account data of type ${params.type} in ${params.roomId}`);
    return content;
  },
});
