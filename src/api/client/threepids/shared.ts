/**
 * The third-party identifier endpoints on a server that validates no email address or phone number itself and binds
 * none through an identity server (Zion has no email or SMS sender and no identity-server client):
 * https://spec.matrix.org/v1.13/client-server-api/#adding-account-administrative-contact-information
 *
 * Each validates its body first (400 M_MISSING_PARAM / M_INVALID_PARAM / M_BAD_JSON naming the field), then
 * answers as the spec provides for a server without the medium: the requestToken endpoints 400
 * M_THREEPID_MEDIUM_NOT_SUPPORTED (MSC4178, v1.13); /3pid/add 400 M_THREEPID_AUTH_FAILED (no session it names can
 * have been validated here); /3pid/bind and the deprecated POST /3pid 400 M_SERVER_NOT_TRUSTED / 403
 * M_THREEPID_AUTH_FAILED (no identity server is trusted); /3pid/delete and /3pid/unbind 200 with
 * `id_server_unbind_result: "no-support"` (nothing was ever bound, and the spec's answer for "cannot unbind").
 * Nothing is written by any of them.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";

/** Fields are bounded: the requestToken endpoints are reachable without authentication. */
const Secret = z.string().min(1).max(255).regex(/^[0-9a-zA-Z.=_-]+$/, "client_secret: letters, digits and .=_- only");
const Short = z.string().min(1).max(255);
const SendAttempt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const EmailTokenBody = z.looseObject({
  client_secret: Secret, email: z.string().min(3).max(254), send_attempt: SendAttempt,
  next_link: z.string().max(2048).optional(), id_server: Short.optional(), id_access_token: Short.optional(),
});
export const MsisdnTokenBody = z.looseObject({
  client_secret: Secret, country: z.string().min(2).max(2), phone_number: z.string().min(1).max(64), send_attempt: SendAttempt,
  next_link: z.string().max(2048).optional(), id_server: Short.optional(), id_access_token: Short.optional(),
});

/** A syntactically plausible address (one @, something either side): bad ones are M_INVALID_PARAM as the spec lists. */
export function checkEmail(email: string): void {
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw MatrixError.invalidParam("email", "is not an email address");
}

export function checkPhone(phone: string): void {
  if (!/^[0-9+() .-]+$/.test(phone)) throw MatrixError.invalidParam("phone_number", "is not a phone number");
}

export function mediumNotSupported(medium: "email" | "msisdn", purpose: string): MatrixError {
  const what = medium === "email" ? "email addresses" : "phone numbers";
  return new MatrixError("M_THREEPID_MEDIUM_NOT_SUPPORTED", 400, `this server does not validate ${what} (${purpose}): it has no way to send ${medium === "email" ? "email" : "SMS"}`);
}

export const Medium = z.enum(["email", "msisdn"]);

/** The body of /3pid/delete and /3pid/unbind. */
export const ThreepidBody = z.looseObject({ medium: Medium, address: z.string().min(1).max(320), id_server: z.string().max(255).optional() });

/** The identity-server credentials of /3pid/bind (and of the deprecated POST /3pid's `three_pid_creds`). */
export const BindBody = z.looseObject({ client_secret: Secret, id_server: Short, id_access_token: Short, sid: Short });

/** A requestToken endpoint: the medium's body, checked, then M_THREEPID_MEDIUM_NOT_SUPPORTED; nothing is sent or stored. */
export function requestTokenRoute(path: string, medium: "email" | "msisdn", purpose: string, auth: "none" | "access-token") {
  const common = { method: "POST" as const, path, auth, maxBodyBytes: 8 * 1024 };
  return medium === "email"
    ? defineClientRoute({ ...common, body: EmailTokenBody, handle: ({ body }) => { checkEmail(body.email); throw mediumNotSupported(medium, purpose); } })
    : defineClientRoute({ ...common, body: MsisdnTokenBody, handle: ({ body }) => { checkPhone(body.phone_number); throw mediumNotSupported(medium, purpose); } });
}
