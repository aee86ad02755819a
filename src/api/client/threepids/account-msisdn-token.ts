/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pidmsisdnrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestAccountMsisdnToken = requestTokenRoute("/_matrix/client/v3/account/3pid/msisdn/requestToken", "msisdn", "adding one to an account", "access-token");
