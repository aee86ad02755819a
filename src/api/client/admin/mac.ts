/**
 * The MAC of a shared-secret registration, as Synapse's /_synapse/admin/v1/register and register_new_matrix_user
 * compute it: HMAC-SHA1 keyed with registration_shared_secret over
 * nonce NUL username NUL password NUL ("admin" | "notadmin") [NUL user_type], all UTF-8, as lower-case hex.
 * https://element-hq.github.io/synapse/latest/admin_api/register_api.html
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface RegistrationMacInput {
  readonly nonce: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
  readonly userType?: string | null | undefined;
}

export function registrationMac(secret: string, input: RegistrationMacInput): string {
  const mac = createHmac("sha1", Buffer.from(secret, "utf8"));
  const parts = [input.nonce, input.username, input.password, input.admin ? "admin" : "notadmin"];
  if (input.userType) parts.push(input.userType);
  mac.update(Buffer.from(parts.join("\x00"), "utf8"));
  return mac.digest("hex");
}

/** Constant-time comparison of a presented MAC (any case) with the expected one. */
export function macMatches(secret: string, input: RegistrationMacInput, presented: string): boolean {
  const want = Buffer.from(registrationMac(secret, input), "utf8");
  const got = Buffer.from(presented.toLowerCase(), "utf8");
  return want.length === got.length && timingSafeEqual(want, got);
}
