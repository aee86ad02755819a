/**
 * Every /_matrix/client route (but /versions, in api/public) and the Synapse admin registration endpoint. This
 * file only lists routes. Each v3 route is also served under r0, as Synapse still does.
 */
import type { Route } from "../http/index.js";
import { changePassword } from "./account/password.js";
import { deactivateAccount } from "./account/deactivate.js";
import { whoami } from "./account/whoami.js";
import { getRegisterNonce } from "./admin/register-nonce.js";
import { registerWithSharedSecret } from "./admin/register-with-secret.js";
import type { AccountDeps } from "./deps.js";
import { deleteDevice } from "./devices/delete-device.js";
import { deleteDevices } from "./devices/delete-devices.js";
import { getDevice } from "./devices/get-device.js";
import { listDevices } from "./devices/list-devices.js";
import { updateDevice } from "./devices/update-device.js";
import { getLogin } from "./login/get-login.js";
import { logout } from "./login/logout.js";
import { logoutAll } from "./login/logout-all.js";
import { postLogin } from "./login/post-login.js";
import { refresh } from "./login/refresh.js";
import { registerAvailable } from "./register/available.js";
import { register } from "./register/register.js";

export type ClientApiDeps = AccountDeps;

const v3Routes = [
  getLogin, postLogin, logout, logoutAll, refresh,
  register, registerAvailable,
  whoami, changePassword, deactivateAccount,
  listDevices, getDevice, updateDevice, deleteDevice, deleteDevices,
] as readonly Route<ClientApiDeps>[];

/**
 * The same route under /_matrix/client/r0 (refresh came after r0, so it has no r0 form; Synapse served it under
 * v1 before 1.72 and matrix-js-sdk still falls back to that, so it gets a v1 form).
 */
const r0 = (r: Route<ClientApiDeps>): Route<ClientApiDeps> => ({ ...r, path: r.path.replace("/_matrix/client/v3/", "/_matrix/client/r0/") });

export const clientRoutes: readonly Route<ClientApiDeps>[] = [
  ...v3Routes,
  ...v3Routes.filter((r) => r !== refresh).map(r0),
  { ...refresh, path: "/_matrix/client/v1/refresh" },
  getRegisterNonce,
  registerWithSharedSecret,
] as readonly Route<ClientApiDeps>[];

export type { AccountDeps, AccountSettings, PasswordPolicy } from "./deps.js";
export { scryptHasher, type PasswordHasher } from "./shared/password.js";
export { memoryUiaSessions, type UiaSessions } from "./shared/uia.js";
export { memoryNonceStore, type NonceStore } from "./admin/nonces.js";
export { registrationMac } from "./admin/mac.js";
