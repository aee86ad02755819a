/** https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3accountpasswordemailrequesttoken: the body is checked, then 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (shared.ts). */
import { requestTokenRoute } from "./shared.js";

export const requestPasswordEmailToken = requestTokenRoute("/_matrix/client/v3/account/password/email/requestToken", "email", "password reset", "none");
