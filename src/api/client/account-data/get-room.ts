/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3useruseridroomsroomidaccount_datatype
 * Only one's own (403 M_FORBIDDEN); the room id must be a room id (400 M_INVALID_PARAM); unset: 404 M_NOT_FOUND.
 */
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { RoomParams, readAccountData } from "./account-data-rules.js";

export const getRoomAccountData = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type",
  auth: "access-token",
  params: RoomParams,
  handle: ({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) => readAccountData(accountData, user, params.userId, params.roomId, params.type),
});
