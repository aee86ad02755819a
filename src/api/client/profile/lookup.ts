/**
 * Reading a profile for /profile/{userId}: local users from storage; users of other servers through the
 * federation client's profile query (https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1queryprofile).
 * These GETs need no access token, so remote lookups are bounded: at most MAX_REMOTE_LOOKUPS at a time server-wide
 * (more: 429 M_LIMIT_EXCEEDED), each bounded by the federation client's own timeouts.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import type { UserDataDeps } from "../deps.js";
import type { AuthenticatedUser } from "../../http/index.js";
import { UserIdParam, ownUser } from "../shared/own-user.js";

/** Synapse's limits (MAX_DISPLAYNAME_LEN, MAX_AVATAR_URL_LEN). */
export const MAX_DISPLAYNAME = 256;
export const MAX_AVATAR_URL = 1000;
export const MAX_REMOTE_LOOKUPS = 32;

export const ProfileParams = z.object({ userId: UserIdParam });

let remoteInFlight = 0;

export type ProfileAnswer = {
  readonly displayname?: string;
  readonly avatar_url?: string;
};

export async function lookUpProfile(
  raw: string,
  field: "displayname" | "avatar_url" | undefined,
  { users, serverName, federationClient }: Pick<UserDataDeps, "users" | "serverName" | "federationClient">,
): Promise<{ userId: UserId; profile: ProfileAnswer }> {
  const userId = parseUserId(raw, "userId");
  if (serverOfUserId(userId) === serverName) {
    const p = await users.getProfile(userId);
    const u = p ? await users.getUser(userId) : null;
    if (!p || !u || u.deactivated) throw MatrixError.notFound(`no profile for ${userId}`);
    return { userId, profile: { ...(p.displayname !== null ? { displayname: p.displayname } : {}), ...(p.avatarUrl !== null ? { avatar_url: p.avatarUrl } : {}) } };
  }
  if (remoteInFlight >= MAX_REMOTE_LOOKUPS) throw MatrixError.limitExceeded(1000);
  remoteInFlight++;
  try {
    const r = await federationClient.queryProfile(serverOfUserId(userId), userId, field);
    const out: { displayname?: string; avatar_url?: string } = {};
    if (typeof r.displayname === "string") out.displayname = r.displayname.slice(0, MAX_DISPLAYNAME);
    if (typeof r.avatar_url === "string") out.avatar_url = r.avatar_url.slice(0, MAX_AVATAR_URL);
    return { userId, profile: out };
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 404) throw MatrixError.notFound(`no profile for ${userId} on ${serverOfUserId(userId)}`);
    throw new MatrixError("M_UNKNOWN", 502, `could not get the profile of ${userId} from ${serverOfUserId(userId)}: ${(e as Error).message}`);
  } finally {
    remoteInFlight--;
  }
}

/**
 * Sets one field of one's own profile (403 M_FORBIDDEN for another user's; over the field's limit: 400
 * M_INVALID_PARAM), then tells the ProfileChangeListener.
 */
export async function setProfileField(
  { users, profileChanges }: Pick<UserDataDeps, "users" | "profileChanges">,
  user: AuthenticatedUser,
  rawUserId: string,
  field: "displayname" | "avatar_url",
  value: string | null,
): Promise<Record<string, never>> {
  const userId = ownUser(user, rawUserId, "set the profile");
  const max = field === "displayname" ? MAX_DISPLAYNAME : MAX_AVATAR_URL;
  if (value !== null && [...value].length > max) throw MatrixError.invalidParam(field, `longer than ${max.toLocaleString("en-US")} characters`);
  await users.setProfile(userId, field === "displayname" ? { displayname: value } : { avatarUrl: value });
  const profile = await users.getProfile(userId);
  if (profile) await profileChanges.profileChanged(userId, profile);
  return {};
}
