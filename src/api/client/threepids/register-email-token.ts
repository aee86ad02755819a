/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3registeremailrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestRegisterEmailToken = requestTokenRoute("/_matrix/client/v3/register/email/requestToken", "email", "registration", "none");
