/**
 * https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1queryprofile
 * 1. user_id must be a user of this server (400 M_INVALID_PARAM otherwise).
 * 2. An unknown user is 404 M_NOT_FOUND.
 * 3. `field` limits the answer to displayname or avatar_url; absent values are omitted.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type ServerName, type UserId } from "../../../core/ids/index.js";
import type { ProfileRecord } from "../../../storage/ports.js";
import { defineFederationRoute } from "../../http/index.js";

export interface ProfileDeps {
  readonly serverName: ServerName;
  readonly profiles: { getProfile(userId: UserId): Promise<ProfileRecord | null> };
}

export const queryProfile = defineFederationRoute({
  method: "GET",
  path: "/_matrix/federation/v1/query/profile",
  auth: "x-matrix",
  query: z.object({ user_id: z.string(), field: z.enum(["displayname", "avatar_url"]).optional() }),
  async handle({ query }, { serverName, profiles }: ProfileDeps) {
    const userId = parseUserId(query.user_id);
    if (serverOfUserId(userId) !== serverName) throw MatrixError.invalidParam("user_id", `${userId} is not a user of ${serverName}`);
    const profile = await profiles.getProfile(userId);
    if (!profile) throw MatrixError.notFound(`no such user: ${userId}`);
    const out: Record<string, string> = {};
    if (query.field !== "avatar_url" && profile.displayname !== null) out["displayname"] = profile.displayname;
    if (query.field !== "displayname" && profile.avatarUrl !== null) out["avatar_url"] = profile.avatarUrl;
    return out;
  },
});
