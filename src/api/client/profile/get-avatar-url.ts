/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3profileuseridavatarurl
 * `{avatar_url}`; 404 M_NOT_FOUND when the user is unknown or has no avatar_url (the spec's answer; Synapse answers {} for an
 * unset one). No access token needed.
 */
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ProfileParams, lookUpProfile } from "./lookup.js";

export const getAvatarUrl = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/profile/:userId/avatar_url",
  auth: "none",
  params: ProfileParams,
  async handle({ params }, deps: Pick<UserDataDeps, "users" | "serverName" | "federationClient">) {
    const { userId, profile } = await lookUpProfile(params.userId, "avatar_url", deps);
    const value = profile.avatar_url;
    if (value === undefined) throw MatrixError.notFound(`${userId} has no avatar_url`);
    return { avatar_url: value };
  },
});
