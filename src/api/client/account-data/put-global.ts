/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3useruseridaccount_datatype
 * 1. Only one's own (403 M_FORBIDDEN). 2. The body is a JSON object (400 M_NOT_JSON / M_BAD_JSON), at most 1 MiB.
 * 3. m.fully_read and m.push_rules: 405 M_BAD_JSON. 4. Stored with a new account-data stream position.
 */
import { z } from "zod";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ACCOUNT_DATA_BODY_BYTES, GlobalParams, writeAccountData } from "./account-data-rules.js";

export const putGlobalAccountData = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/user/:userId/account_data/:type",
  auth: "access-token",
  params: GlobalParams,
  body: z.looseObject({}),
  maxBodyBytes: ACCOUNT_DATA_BODY_BYTES,
  handle: ({ user, params, body }, { accountData }: Pick<UserDataDeps, "accountData">) => writeAccountData(accountData, user, params.userId, undefined, params.type, body as JsonObject),
});
