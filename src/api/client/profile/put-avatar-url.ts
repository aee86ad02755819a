/**
 * https://spec.matrix.org/v1.16/client-server-api/#put_matrixclientv3profileuseridavatarurl
 * 1. Only one's own (403 M_FORBIDDEN). 2. `avatar_url`: a string of at most 1,000 characters (Synapse's limit), or
 *    null to clear it; missing or another type is 400 M_BAD_JSON. 3. The profile changes, then the
 *    ProfileChangeListener is told (the rooms layer sends new member events into the user's rooms).
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { ProfileParams, setProfileField } from "./lookup.js";

export const putAvatarUrl = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/profile/:userId/avatar_url",
  auth: "access-token",
  params: ProfileParams,
  body: z.looseObject({ avatar_url: z.string().nullable() }),
  maxBodyBytes: 64 * 1024,
  handle: ({ user, params, body }, deps: Pick<UserDataDeps, "users" | "profileChanges">) => setProfileField(deps, user, params.userId, "avatar_url", body.avatar_url),
});
