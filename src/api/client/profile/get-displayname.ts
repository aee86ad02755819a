/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3profileuseriddisplayname
 * `{displayname}`; 404 M_NOT_FOUND when the user is unknown or has no displayname (the spec's answer; Synapse answers {} for an
 * unset one). No access token needed.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ProfileParams, lookUpProfile } from "./lookup.js";

export const getDisplayname = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/profile/:userId/displayname",
  auth: "none",
  params: ProfileParams,
  async handle({ params }, deps: Pick<UserDataDeps, "users" | "serverName" | "federationClient">) {
    const { userId, profile } = await lookUpProfile(params.userId, "displayname", deps);
    const value = profile.displayname;
    if (value === undefined) throw MatrixError.notFound(`${userId} has no displayname`);
    return { displayname: value };
  },
});
