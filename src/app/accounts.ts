/** The account and rate-limit settings the client API gets, from homeserver.yaml. */
import { readFileSync } from "node:fs";
import type { AccountSettings, TurnSettings } from "../api/index.js";
import type { RateLimitConfig, RateLimitSettings } from "../api/http/index.js";
import type { HomeserverConfig } from "../config/index.js";
import { StartupError } from "./errors.js";

/** registration_shared_secret, else the content of registration_shared_secret_path, trimmed (as Synapse). */
export function sharedSecretOf(config: HomeserverConfig): string | undefined {
  if (config.registration_shared_secret !== undefined) return config.registration_shared_secret;
  if (config.registration_shared_secret_path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(config.registration_shared_secret_path, "utf8");
  } catch (e) {
    throw new StartupError([`registration_shared_secret_path: cannot read ${config.registration_shared_secret_path}: ${(e as Error).message}`]);
  }
  const secret = text.trim();
  if (secret === "") throw new StartupError([`registration_shared_secret_path: ${config.registration_shared_secret_path} is empty`]);
  return secret;
}

export function accountSettings(config: HomeserverConfig): AccountSettings {
  const needs: string[] = [];
  if (config.enable_registration_captcha) needs.push("a captcha");
  if (config.registrations_require_3pid.length > 0) needs.push(`a verified ${config.registrations_require_3pid.join(" or ")}`);
  if (config.registration_requires_token) needs.push("a registration token");
  const open = config.enable_registration && needs.length === 0;
  const policy = config.password_config.policy;
  return {
    registrationOpen: open,
    registrationClosedReason: !config.enable_registration
      ? "registration is disabled on this server"
      : `registration here requires ${needs.join(" and ")}, which Zion does not offer yet`,
    passwordLoginEnabled: config.password_config.enabled,
    passwordPolicy: {
      enabled: policy.enabled,
      minimumLength: policy.minimum_length,
      requireDigit: policy.require_digit,
      requireSymbol: policy.require_symbol,
      requireLowercase: policy.require_lowercase,
      requireUppercase: policy.require_uppercase,
    },
    sharedSecret: sharedSecretOf(config),
    refreshableAccessTokenLifetimeMs: config.refreshable_access_token_lifetime,
  };
}

export function rateLimitConfig(config: HomeserverConfig): RateLimitConfig {
  const s = (v: { per_second: number; burst_count: number }): RateLimitSettings => ({ perSecond: v.per_second, burstCount: v.burst_count });
  return {
    rc_message: s(config.rc_message),
    rc_registration: s(config.rc_registration),
    "rc_login.address": s(config.rc_login.address),
    "rc_login.account": s(config.rc_login.account),
    "rc_login.failed_attempts": s(config.rc_login.failed_attempts),
    "rc_joins.local": s(config.rc_joins.local),
    "rc_joins.remote": s(config.rc_joins.remote),
    "rc_invites.per_room": s(config.rc_invites.per_room),
    "rc_invites.per_user": s(config.rc_invites.per_user),
    "rc_invites.per_issuer": s(config.rc_invites.per_issuer),
  };
}

/** Synapse's turn_* keys; turn_shared_secret_path's file is read at start-up (trimmed), as Synapse does. */
export function turnSettings(config: HomeserverConfig): TurnSettings {
  let secret = config.turn_shared_secret;
  if (secret === undefined && config.turn_shared_secret_path !== undefined) {
    try {
      secret = readFileSync(config.turn_shared_secret_path, "utf8").trim();
    } catch (e) {
      throw new StartupError([`turn_shared_secret_path: cannot read ${config.turn_shared_secret_path}: ${(e as Error).message}`]);
    }
    if (secret === "") throw new StartupError([`turn_shared_secret_path: ${config.turn_shared_secret_path} is empty`]);
  }
  return {
    uris: config.turn_uris,
    sharedSecret: secret,
    username: config.turn_username,
    password: config.turn_password,
    userLifetimeMs: config.turn_user_lifetime,
  };
}
