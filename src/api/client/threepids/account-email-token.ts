/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3account3pidemailrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestAccountEmailToken = requestTokenRoute("/_matrix/client/v3/account/3pid/email/requestToken", "email", "adding one to an account", "access-token");
