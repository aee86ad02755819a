/**
 * The admin API's work, shared by its routes (one file each beside this one) and by `zion admin` (app/admin.ts), so
 * a closed server is managed through the same code as a running one. Bodies and errors follow Synapse's
 * docs/admin_api (users, registration tokens); docs/admin-api.md lists where Zion differs.
 */
import { randomInt } from "node:crypto";
import { MatrixError } from "../../../core/errors.js";
import { parseUserId, serverOfUserId, type UserId } from "../../../core/ids/index.js";
import { UniqueViolationError, type AdminStore, type AdminUserRow, type RegistrationToken, type RoomClientStore, type RoomStore, type UserListQuery, type UserOrder, type UserStore } from "../../../storage/ports.js";
import type { AuthenticatedUser, RouteLog } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import type { RoomService } from "../../../rooms/index.js";
import { createAccount } from "../shared/create-account.js";
import { deactivateAccount } from "../shared/deactivate-account.js";
import { checkPasswordLength } from "../shared/password-policy.js";
import { newLocalUserId } from "../shared/user-ids.js";

/** What the admin work needs; the server hands all of it, `zion admin` the same built from the database alone. */
export interface AdminDeps extends Pick<AccountDeps, "serverName" | "clock" | "users" | "passwords"> {
  readonly admin: AdminStore;
  readonly roomStore: RoomStore;
  /** default_room_version: the room a deleted room's users are moved to. */
  readonly defaultRoomVersion: string;
  /** Aliases and the directory, which deleting a room clears. */
  readonly roomClient: RoomClientStore;
  /** The room pipeline: a deactivated user leaves its rooms; deleting a room makes its users leave, then purges it. */
  readonly rooms: Pick<RoomService, "setMembership" | "forget" | "createRoom" | "join" | "send" | "purge">;
}

/**
 * The caller must be a server admin (403 M_FORBIDDEN otherwise, as Synapse's "You are not a server admin"); the
 * call is logged with the admin's id, the action and its target.
 */
export async function requireServerAdmin(users: UserStore, user: AuthenticatedUser, log: RouteLog, action: string, target?: string): Promise<UserId> {
  const record = await users.getUser(user.userId);
  if (!record?.admin) {
    log.warn({ admin_api: action, user_id: user.userId }, "admin API call refused: not a server admin");
    throw MatrixError.forbidden("You are not a server admin");
  }
  log.info({ admin_api: action, admin: user.userId, ...(target === undefined ? {} : { target }) }, "admin API call");
  return user.userId;
}

/** A user id path parameter naming a local user: 400 M_INVALID_PARAM for a malformed id, 400 for another server's. */
export function localUserParam(raw: string, deps: Pick<AdminDeps, "serverName">, what = "look up"): UserId {
  const id = parseUserId(raw, "user_id");
  if (serverOfUserId(id) !== deps.serverName) throw new MatrixError("M_INVALID_PARAM", 400, `user_id: can only ${what} local users (${id} is not of ${deps.serverName})`);
  return id;
}

async function existingUser(deps: Pick<AdminDeps, "users">, userId: UserId) {
  const user = await deps.users.getUser(userId);
  if (!user) throw MatrixError.notFound(`User not found: ${userId}`);
  return user;
}

// --- users ------------------------------------------------------------------------------------------------------

/** order_by values of Synapse; those naming a property every Zion user shares sort by user id. */
const ORDER_BY: Record<string, UserOrder> = {
  name: "name", admin: "admin", deactivated: "deactivated", creation_ts: "creation_ts", displayname: "displayname",
  is_guest: "name", user_type: "name", shadow_banned: "name", locked: "name",
};

export interface UserListParams {
  readonly from?: string | undefined;
  readonly limit?: string | undefined;
  readonly name?: string | undefined;
  readonly user_id?: string | undefined;
  readonly guests?: string | undefined;
  readonly deactivated?: string | undefined;
  readonly admins?: string | undefined;
  readonly order_by?: string | undefined;
  readonly dir?: string | undefined;
}

export function intParam(value: string | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw new MatrixError("M_INVALID_PARAM", 400, `${field}: must be a non-negative integer`);
  return Number(value);
}

export function boolParam(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new MatrixError("M_INVALID_PARAM", 400, `${field}: must be true or false`);
}

export function dirParam(value: string | undefined): "f" | "b" {
  if (value === undefined || value === "f" || value === "b") return value ?? "f";
  throw new MatrixError("M_INVALID_PARAM", 400, "dir: must be f or b");
}

/** The query of GET /_synapse/admin/v2/users, checked: from, limit (default 100, at most 1000), filters, order. */
export function userListQuery(p: UserListParams): UserListQuery {
  const orderBy = p.order_by === undefined ? "name" : ORDER_BY[p.order_by];
  if (orderBy === undefined) throw new MatrixError("M_INVALID_PARAM", 400, `order_by: unknown value; one of ${Object.keys(ORDER_BY).join(", ")}`);
  const limit = intParam(p.limit, "limit", 100);
  if (limit > 1000) throw new MatrixError("M_INVALID_PARAM", 400, "limit: at most 1000");
  boolParam(p.guests, "guests");
  return {
    from: intParam(p.from, "from", 0),
    limit,
    name: p.name ?? p.user_id,
    deactivated: boolParam(p.deactivated, "deactivated") ?? false,
    admins: boolParam(p.admins, "admins"),
    orderBy,
    dir: dirParam(p.dir),
  };
}

/** One user as Synapse's admin API lists it (Zion has no guests, user types, shadow bans, locks or approvals). */
function userEntry(r: AdminUserRow) {
  return {
    name: r.userId,
    user_type: null,
    is_guest: false,
    admin: r.admin,
    deactivated: r.deactivated,
    shadow_banned: false,
    displayname: r.displayname,
    avatar_url: r.avatarUrl,
    creation_ts: r.createdTs,
    approved: true,
    erased: false,
    locked: false,
    suspended: false,
  };
}

export async function listUsers(deps: Pick<AdminDeps, "admin">, q: UserListQuery) {
  const { users, total } = await deps.admin.listUsers(q);
  const next = q.from + users.length;
  return { users: users.map(userEntry), total, ...(next < total && users.length > 0 ? { next_token: String(next) } : {}) };
}

/** GET /_synapse/admin/v2/users/{userId}: the user with its profile; 404 M_NOT_FOUND when unknown. */
export async function userDetails(deps: Pick<AdminDeps, "users">, userId: UserId) {
  const user = await existingUser(deps, userId);
  const profile = await deps.users.getProfile(userId);
  const devices = await deps.users.getDevices(userId);
  const lastSeen = devices.reduce<number | null>((m, d) => (d.lastSeenTs !== null && (m === null || d.lastSeenTs > m) ? d.lastSeenTs : m), null);
  return {
    ...userEntry({ userId, displayname: profile?.displayname ?? null, avatarUrl: profile?.avatarUrl ?? null, admin: user.admin, deactivated: user.deactivated, createdTs: user.createdTs }),
    threepids: [],
    external_ids: [],
    appservice_id: null,
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
    last_seen_ts: lastSeen,
  };
}

export interface UserChange {
  readonly password?: string | null | undefined;
  readonly logout_devices?: boolean | undefined;
  readonly displayname?: string | null | undefined;
  readonly avatar_url?: string | null | undefined;
  readonly admin?: boolean | undefined;
  readonly deactivated?: boolean | undefined;
}

/**
 * PUT /_synapse/admin/v2/users/{userId}: creates the user (created: true) or changes the given fields. Every check
 * runs before the first write. Reactivating needs a password; an admin cannot demote or deactivate itself.
 */
export async function upsertUser(deps: AdminDeps, caller: UserId | null, userId: UserId, change: UserChange): Promise<{ created: boolean; user: Awaited<ReturnType<typeof userDetails>> }> {
  if (typeof change.password === "string") checkPasswordLength(change.password);
  const existing = await deps.users.getUser(userId);
  if (!existing) {
    const localpart = userId.slice(1, userId.lastIndexOf(":"));
    newLocalUserId(localpart, deps.serverName, "user_id");
    const passwordHash = typeof change.password === "string" ? await deps.passwords.hash(change.password) : null;
    await createAccount(deps.users, { userId, passwordHash, createdTs: deps.clock.now(), admin: change.admin ?? false, displayname: change.displayname ?? localpart }, undefined);
    if (change.avatar_url !== undefined) await deps.users.setProfile(userId, { avatarUrl: change.avatar_url });
    if (change.deactivated === true) await deactivateUser(deps, userId, false);
    return { created: true, user: await userDetails(deps, userId) };
  }
  if (caller === userId && change.admin === false) throw new MatrixError("M_UNKNOWN", 400, "admin: you may not demote yourself");
  if (caller === userId && change.deactivated === true) throw new MatrixError("M_UNKNOWN", 400, "deactivated: you may not deactivate yourself");
  const reactivate = existing.deactivated && change.deactivated === false;
  if (reactivate && typeof change.password !== "string") throw new MatrixError("M_UNKNOWN", 400, "password: must be given to re-activate an account");
  const passwordHash = typeof change.password === "string" ? await deps.passwords.hash(change.password) : change.password;
  if (reactivate) await deps.admin.reactivateUser(userId, passwordHash ?? null);
  else if (passwordHash !== undefined) await deps.users.setPasswordHash(userId, passwordHash, change.logout_devices === false ? undefined : { keepDeviceId: null });
  const profile = { ...(change.displayname !== undefined ? { displayname: change.displayname } : {}), ...(change.avatar_url !== undefined ? { avatarUrl: change.avatar_url } : {}) };
  if (Object.keys(profile).length > 0) await deps.users.setProfile(userId, profile);
  if (change.admin !== undefined) await deps.admin.setAdmin(userId, change.admin);
  if (change.deactivated === true && !existing.deactivated) await deactivateUser(deps, userId, false);
  return { created: false, user: await userDetails(deps, userId) };
}

/**
 * Deactivates a local user (404 M_NOT_FOUND for an unknown one) as POST /account/deactivate does
 * (shared/deactivate-account.ts): marked deactivated, logged out everywhere, invites rejected, knocks withdrawn and
 * every room left; with `erase`, the display name and avatar are cleared too.
 */
export async function deactivateUser(deps: AdminDeps, userId: UserId, erase: boolean, log?: RouteLog): Promise<{ left: number }> {
  await existingUser(deps, userId);
  return deactivateAccount(deps, userId, { erase }, log);
}

export async function setAdminFlag(deps: Pick<AdminDeps, "users" | "admin">, caller: UserId | null, userId: UserId, admin: boolean): Promise<void> {
  await existingUser(deps, userId);
  if (caller === userId && !admin) throw new MatrixError("M_UNKNOWN", 400, "admin: you may not demote yourself");
  await deps.admin.setAdmin(userId, admin);
}

/** POST /_synapse/admin/v1/reset_password: no password policy (the operator chose it); devices logged out unless told not to. */
export async function resetPassword(deps: Pick<AdminDeps, "users" | "passwords">, userId: UserId, password: string, logoutDevices: boolean): Promise<void> {
  checkPasswordLength(password, "new_password");
  await existingUser(deps, userId);
  const hash = await deps.passwords.hash(password);
  await deps.users.setPasswordHash(userId, hash, logoutDevices ? { keepDeviceId: null } : undefined);
}

/** GET /_synapse/admin/v1/whois: the spec's whois shape, one session per device with its last address and time. */
export async function whois(deps: Pick<AdminDeps, "users">, userId: UserId) {
  await existingUser(deps, userId);
  const devices = await deps.users.getDevices(userId);
  const out: Record<string, unknown> = {};
  for (const d of devices) {
    out[d.deviceId] = { sessions: [{ connections: d.lastSeenIp === null ? [] : [{ ip: d.lastSeenIp, last_seen: d.lastSeenTs, user_agent: null }] }] };
  }
  return { user_id: userId, devices: out };
}

// --- registration tokens ----------------------------------------------------------------------------------------

const TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export function tokenJson(t: RegistrationToken) {
  return { token: t.token, uses_allowed: t.usesAllowed, pending: t.pending, completed: t.completed, expiry_time: t.expiryTime };
}

export interface NewTokenParams {
  readonly token?: string | undefined;
  readonly uses_allowed?: number | null | undefined;
  readonly expiry_time?: number | null | undefined;
  readonly length?: number | undefined;
}

/**
 * POST /_synapse/admin/v1/registration_tokens/new, as Synapse: `token` (1-64 of A-Za-z0-9._~-) or a random one of
 * `length` (1-64, default 16); uses_allowed a non-negative integer or null; expiry_time in the future or null.
 */
export async function createRegistrationToken(deps: Pick<AdminDeps, "admin" | "clock">, p: NewTokenParams): Promise<RegistrationToken> {
  if (p.token !== undefined && !TOKEN_PATTERN.test(p.token)) throw new MatrixError("M_INVALID_PARAM", 400, "token: must be 1 to 64 characters of A-Z, a-z, 0-9 and ._~-");
  if (p.token !== undefined && p.length !== undefined) throw new MatrixError("M_INVALID_PARAM", 400, "length: give token or length, not both");
  const length = p.length ?? 16;
  if (!Number.isInteger(length) || length < 1 || length > 64) throw new MatrixError("M_INVALID_PARAM", 400, "length: must be an integer from 1 to 64");
  checkUsesAllowed(p.uses_allowed);
  checkExpiry(deps, p.expiry_time);
  const fixed = p.token !== undefined;
  for (let attempt = 0; ; attempt++) {
    const token = p.token ?? Array.from({ length }, () => TOKEN_CHARS[randomInt(TOKEN_CHARS.length)]).join("");
    const record = { token, usesAllowed: p.uses_allowed ?? null, pending: 0, completed: 0, expiryTime: p.expiry_time ?? null };
    try {
      await deps.admin.createRegistrationToken(record);
      return record;
    } catch (e) {
      if (!(e instanceof UniqueViolationError)) throw e;
      if (fixed || attempt >= 3) throw new MatrixError("M_INVALID_PARAM", 400, `token: ${fixed ? `${token} already exists` : "could not find an unused random token; use a longer length"}`);
    }
  }
}

function checkUsesAllowed(v: number | null | undefined): void {
  if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) throw new MatrixError("M_INVALID_PARAM", 400, "uses_allowed: must be a non-negative integer or null");
}

function checkExpiry(deps: Pick<AdminDeps, "clock">, v: number | null | undefined): void {
  if (v !== undefined && v !== null && (!Number.isInteger(v) || v < deps.clock.now())) throw new MatrixError("M_INVALID_PARAM", 400, "expiry_time: must be a time in the future (ms since the epoch) or null");
}

export async function getRegistrationToken(deps: Pick<AdminDeps, "admin">, token: string): Promise<RegistrationToken> {
  const t = await deps.admin.getRegistrationToken(token);
  if (!t) throw MatrixError.notFound(`No such registration token: ${token}`);
  return t;
}

export async function updateRegistrationToken(deps: Pick<AdminDeps, "admin" | "clock">, token: string, change: { uses_allowed?: number | null | undefined; expiry_time?: number | null | undefined }): Promise<RegistrationToken> {
  checkUsesAllowed(change.uses_allowed);
  checkExpiry(deps, change.expiry_time);
  const t = await deps.admin.updateRegistrationToken(token, {
    ...(change.uses_allowed !== undefined ? { usesAllowed: change.uses_allowed } : {}),
    ...(change.expiry_time !== undefined ? { expiryTime: change.expiry_time } : {}),
  });
  if (!t) throw MatrixError.notFound(`No such registration token: ${token}`);
  return t;
}

export async function deleteRegistrationToken(deps: Pick<AdminDeps, "admin">, token: string): Promise<void> {
  if (!(await deps.admin.deleteRegistrationToken(token))) throw MatrixError.notFound(`No such registration token: ${token}`);
}
