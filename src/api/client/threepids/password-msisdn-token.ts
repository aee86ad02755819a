/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3accountpasswordmsisdnrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestPasswordMsisdnToken = requestTokenRoute("/_matrix/client/v3/account/password/msisdn/requestToken", "msisdn", "password reset", "none");
