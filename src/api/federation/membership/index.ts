/** Membership over federation. This file only lists routes. */
import { makeJoin } from "./make-join.js";
import { sendJoin } from "./send-join.js";
import { makeKnock, makeLeave } from "./make-leave-knock.js";
import { sendKnock, sendLeave } from "./send-leave-knock.js";
import { inviteV1, inviteV2 } from "./invite.js";

export type { MembershipDeps } from "./make-join.js";
export const membershipRoutes = [makeJoin, sendJoin, makeLeave, sendLeave, makeKnock, sendKnock, inviteV2, inviteV1];
