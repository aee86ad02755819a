/**
 * POST /_synapse/admin/v1/register: shared-secret registration, compatible with Synapse's admin API and its
 * register_new_matrix_user script. https://element-hq.github.io/synapse/latest/admin_api/register_api.html
 * 1. registration_shared_secret must be set (400 M_UNKNOWN otherwise).
 * 2. The nonce must have been issued by GET within the last minute; it is used up either way (400 M_UNKNOWN).
 * 3. username, password: strings without NUL; admin a boolean; user_type a string or null (M_INVALID_PARAM).
 * 4. mac = HMAC-SHA1 over nonce, username, password, admin/notadmin[, user_type] (admin/mac.ts): else 403 M_FORBIDDEN.
 * 5. The username is validated like /register (M_INVALID_USERNAME, M_USER_IN_USE); enable_registration does not
 *    matter and no password policy applies (the operator chose the password).
 * 6. The account, profile (displayname, default the localpart), a device and an access token in one transaction.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { createAccount } from "../shared/create-account.js";
import { prepareLogin } from "../shared/issue-login.js";
import { checkPasswordLength } from "../shared/password-policy.js";
import { newLocalUserId } from "../shared/user-ids.js";
import { macMatches } from "./mac.js";

const noNul = (field: string) => z.string().max(1024).refine((v) => !v.includes("\x00"), { message: `${field} must not contain NUL` });

const Body = z.looseObject({
  nonce: z.string().max(255),
  username: noNul("username"),
  password: noNul("password"),
  displayname: z.string().max(1024).nullable().optional(),
  admin: z.boolean().optional(),
  user_type: z.string().max(255).nullable().optional(),
  mac: z.string().max(255),
});

export const registerWithSharedSecret = defineClientRoute({
  method: "POST",
  path: "/_synapse/admin/v1/register",
  auth: "none",
  body: Body,
  maxBodyBytes: 64 * 1024,
  async handle({ body, request }, deps: Pick<AccountDeps, "accounts" | "registrationNonces" | "users" | "passwords" | "serverName" | "clock">) {
    const { accounts, registrationNonces, users, passwords, serverName, clock } = deps;
    const secret = accounts.sharedSecret;
    if (secret === undefined) throw new MatrixError("M_UNKNOWN", 400, "shared-secret registration is not enabled (registration_shared_secret is not set)");
    if (!(await registrationNonces.consume(body.nonce))) throw new MatrixError("M_UNKNOWN", 400, "nonce: unrecognised or expired nonce");
    checkPasswordLength(body.password);
    const admin = body.admin ?? false;
    if (!macMatches(secret, { nonce: body.nonce, username: body.username, password: body.password, admin, userType: body.user_type }, body.mac)) {
      throw MatrixError.forbidden("mac: HMAC incorrect");
    }
    const userId = newLocalUserId(body.username.toLowerCase(), serverName);
    const localpart = userId.slice(1, userId.lastIndexOf(":" + serverName));
    const issued = prepareLogin(deps, { userId, deviceId: undefined, displayName: undefined, refresh: false, ip: request.remoteAddress });
    const passwordHash = await passwords.hash(body.password);
    await createAccount(users, { userId, passwordHash, createdTs: clock.now(), admin, displayname: body.displayname ?? localpart }, issued.login);
    const { user_id, access_token, device_id, home_server } = issued.response;
    return { user_id, access_token, device_id, home_server };
  },
});
