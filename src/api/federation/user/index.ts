/** Federation /user endpoints (devices and end-to-end encryption keys). This file only lists routes. */
import { userDevices } from "./devices.js";
import { userKeysClaim } from "./keys-claim.js";
import { userKeysQuery } from "./keys-query.js";

export type { UserKeysDeps } from "./deps.js";
export const userRoutes = [userDevices, userKeysQuery, userKeysClaim];
