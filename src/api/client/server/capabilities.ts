/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3capabilities
 * m.change_password follows password_config.enabled; m.room_versions lists every row of the room-version table
 * (stable or unstable) with default_room_version; display name and avatar changes are allowed; 3PID changes are
 * not (Zion has no 3PIDs).
 */
import { ROOM_VERSIONS } from "../../../core/room-versions/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { AccountDeps, UserDataDeps } from "../deps.js";

export const getCapabilities = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/capabilities",
  auth: "access-token",
  handle(_input, { accounts, defaultRoomVersion }: Pick<AccountDeps, "accounts"> & Pick<UserDataDeps, "defaultRoomVersion">) {
    const available: Record<string, string> = {};
    for (const [id, rules] of ROOM_VERSIONS) available[id] = rules.stable ? "stable" : "unstable";
    return {
      capabilities: {
        "m.change_password": { enabled: accounts.passwordLoginEnabled },
        "m.room_versions": { default: defaultRoomVersion, available },
        "m.set_displayname": { enabled: true },
        "m.set_avatar_url": { enabled: true },
        "m.3pid_changes": { enabled: false },
      },
    };
  },
});
