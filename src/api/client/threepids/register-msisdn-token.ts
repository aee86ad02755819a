/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3registermsisdnrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestRegisterMsisdnToken = requestTokenRoute("/_matrix/client/v3/register/msisdn/requestToken", "msisdn", "registration", "none");
