/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3useruseridaccount_datatype
 * Only one's own (403 M_FORBIDDEN); an unset type is 404 M_NOT_FOUND.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ownUser } from "../shared/own-user.js";
import { GlobalParams } from "./account-data-rules.js";

export const getGlobalAccountData = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/account_data/:type",
  auth: "access-token",
  params: GlobalParams,
  async handle({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "get account data");
    const content = await accountData.get(userId, null, params.type);
    if (!content) throw MatrixError.notFound(`no account data of type ${params.type}`);
    return content;
  },
});
