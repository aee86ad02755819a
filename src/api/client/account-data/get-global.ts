/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3useruseridaccount_datatype
 * Only one's own (403 M_FORBIDDEN); an unset type is 404 M_NOT_FOUND.
 */
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { GlobalParams, readAccountData } from "./account-data-rules.js";

export const getGlobalAccountData = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/account_data/:type",
  auth: "access-token",
  params: GlobalParams,
  handle: ({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) => readAccountData(accountData, user, params.userId, undefined, params.type),
});
