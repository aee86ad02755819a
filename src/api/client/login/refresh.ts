/**
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3refresh
 * Exchanges a refresh token for a new access token (expiring) and a new refresh token on the same device. The old
 * access token stops working at once; the old refresh token keeps working until the new pair is first used.
 * An unknown refresh token is 401 M_UNKNOWN_TOKEN with soft_logout: false (the client must log in again).
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps } from "../deps.js";
import { newAccessToken, newRefreshToken } from "../shared/tokens.js";

export const refresh = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/refresh",
  auth: "none",
  body: z.object({ refresh_token: z.string().min(1).max(1024) }),
  maxBodyBytes: 64 * 1024,
  async handle({ body }, { users, clock, accounts }: Pick<AccountDeps, "users" | "clock" | "accounts">) {
    const now = clock.now();
    const lifetime = accounts.refreshableAccessTokenLifetimeMs;
    const accessToken = newAccessToken();
    const refreshToken = newRefreshToken();
    const done = await users.refreshLogin({ refreshToken: body.refresh_token, newAccessToken: accessToken, newRefreshToken: refreshToken, validUntilTs: now + lifetime, nowTs: now });
    if (!done) throw new MatrixError("M_UNKNOWN_TOKEN", 401, "refresh_token: unknown or revoked refresh token", { soft_logout: false });
    return { access_token: accessToken, refresh_token: refreshToken, expires_in_ms: lifetime };
  },
});
