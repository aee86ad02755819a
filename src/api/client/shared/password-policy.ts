/** Synapse's password_config.policy: a too-weak new password is 400 M_WEAK_PASSWORD naming the rule. */
import { MatrixError } from "../../../core/errors.js";
import type { PasswordPolicy } from "../deps.js";
import { MAX_PASSWORD_BYTES } from "./password.js";

/** Checks a new password (register, change password): length limit always, the policy when enabled. */
export function checkNewPassword(password: string, policy: PasswordPolicy, field = "password"): void {
  checkPasswordLength(password, field);
  if (!policy.enabled) return;
  const weak = (why: string): never => {
    throw new MatrixError("M_WEAK_PASSWORD", 400, `${field} ${why}`);
  };
  if ([...password].length < policy.minimumLength) weak(`must be at least ${policy.minimumLength} characters long`);
  if (policy.requireDigit && !/[0-9]/.test(password)) weak("must contain a digit");
  if (policy.requireSymbol && !/[^A-Za-z0-9]/.test(password)) weak("must contain a symbol");
  if (policy.requireLowercase && !/[a-z]/.test(password)) weak("must contain a lower-case letter");
  if (policy.requireUppercase && !/[A-Z]/.test(password)) weak("must contain an upper-case letter");
}

/** Any password given to the server (login too): at most 512 bytes, so hashing work stays bounded. */
export function checkPasswordLength(password: string, field = "password"): void {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) throw MatrixError.invalidParam(field, `is longer than ${MAX_PASSWORD_BYTES} bytes`);
}
