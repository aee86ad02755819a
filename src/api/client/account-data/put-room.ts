/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype
 * As the global form, in one room: any syntactically valid room id (Synapse's rule; see account-data-rules.ts).
 */
import { z } from "zod";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ownUser } from "../shared/own-user.js";
import { ACCOUNT_DATA_BODY_BYTES, RoomParams, refuseServerControlled, roomIdOf } from "./account-data-rules.js";

export const putRoomAccountData = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type",
  auth: "access-token",
  params: RoomParams,
  body: z.looseObject({}),
  maxBodyBytes: ACCOUNT_DATA_BODY_BYTES,
  async handle({ user, params, body }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "add account data");
    const roomId = roomIdOf(params.roomId);
    refuseServerControlled(params.type);
    await accountData.put(userId, roomId, params.type, body as JsonObject);
    return {};
  },
});
