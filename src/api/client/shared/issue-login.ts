/**
 * The credentials of a new login (POST /login, /register, shared-secret registration): an access token, and with
 * `refresh_token: true` a refresh token and an access token that expires after refreshable_access_token_lifetime.
 * https://spec.matrix.org/v1.16/client-server-api/#refreshing-access-tokens
 */
import type { UserId } from "../../../core/ids/index.js";
import type { NewLogin } from "../../../storage/ports.js";
import type { AccountDeps } from "../deps.js";
import { newAccessToken, newDeviceId, newRefreshToken } from "./tokens.js";

export interface LoginRequest {
  readonly userId: UserId;
  readonly deviceId: string | undefined;
  readonly displayName: string | undefined;
  readonly refresh: boolean;
  readonly ip: string;
}

export interface IssuedLogin {
  readonly login: NewLogin;
  /** The response fields: user_id, access_token, device_id, home_server, and refresh_token/expires_in_ms. */
  readonly response: Record<string, string | number>;
}

export function prepareLogin(deps: Pick<AccountDeps, "clock" | "serverName" | "accounts">, req: LoginRequest): IssuedLogin {
  const now = deps.clock.now();
  const accessToken = newAccessToken();
  const deviceId = req.deviceId ?? newDeviceId();
  const lifetime = deps.accounts.refreshableAccessTokenLifetimeMs;
  const refreshToken = req.refresh ? newRefreshToken() : undefined;
  const login: NewLogin = {
    userId: req.userId,
    deviceId,
    accessToken,
    nowTs: now,
    ip: req.ip,
    ...(req.displayName !== undefined ? { deviceDisplayName: req.displayName } : {}),
    ...(refreshToken !== undefined ? { refreshToken, validUntilTs: now + lifetime } : {}),
  };
  const response: Record<string, string | number> = { user_id: req.userId, access_token: accessToken, device_id: deviceId, home_server: deps.serverName };
  if (refreshToken !== undefined) {
    response["refresh_token"] = refreshToken;
    response["expires_in_ms"] = lifetime;
  }
  return { login, response };
}
