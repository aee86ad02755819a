/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype
 * As the global form, in one room: any syntactically valid room id (Synapse's rule; see account-data-rules.ts).
 */
import { z } from "zod";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ACCOUNT_DATA_BODY_BYTES, RoomParams, writeAccountData } from "./account-data-rules.js";

export const putRoomAccountData = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type",
  auth: "access-token",
  params: RoomParams,
  body: z.looseObject({}),
  maxBodyBytes: ACCOUNT_DATA_BODY_BYTES,
  handle: ({ user, params, body }, { accountData }: Pick<UserDataDeps, "accountData">) => writeAccountData(accountData, user, params.userId, params.roomId, params.type, body as JsonObject),
});
