/** Membership over federation. This file only lists routes. */
import { makeJoin } from "./make-join.js";
import { sendJoin } from "./send-join.js";

export type { MembershipDeps } from "./make-join.js";
export const membershipRoutes = [makeJoin, sendJoin];
