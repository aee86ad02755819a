/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3profileuserid
 * `{displayname, avatar_url}` (unset fields absent); 404 M_NOT_FOUND for an unknown or deactivated user. No access
 * token needed. Users of other servers: over federation (lookup.ts).
 */
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ProfileParams, lookUpProfile } from "./lookup.js";

export const getProfile = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/profile/:userId",
  auth: "none",
  params: ProfileParams,
  async handle({ params }, deps: Pick<UserDataDeps, "users" | "serverName" | "federationClient">) {
    return (await lookUpProfile(params.userId, undefined, deps)).profile;
  },
});
