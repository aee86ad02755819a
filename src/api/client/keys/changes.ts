/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3keyschanges
 * 1. `from` and `to` are sync tokens; their device-list positions (the `d` segment) bound the changes.
 * 2. `changed`: users (local or remote) whose devices or keys changed in (from, to] and whom the requester should
 *    track: itself and the users it shares a room with (DeviceListAudience, from the rooms layer), and the users
 *    who newly share a room with it between the tokens' event positions (the `s` segment).
 * 3. `left`: the users who shared a joined room with it at `from` and share none at `to` (as /sync's device_lists).
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import type { UserId } from "../../../core/ids/index.js";
import { parseStreamToken, streamPosition } from "../shared/stream-token.js";

/** The event-stream position (`s` segment) of a sync token; 0 when it has none. */
const eventPosition = (token: string, field: string): number => parseStreamToken(token, field).get("s") ?? 0;

export const keyChanges = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/keys/changes",
  auth: "access-token",
  query: z.object({ from: z.string(), to: z.string() }),
  async handle({ user, query }, { e2ee, deviceListAudience }: Pick<UserDataDeps, "e2ee" | "deviceListAudience">) {
    const from = streamPosition(query.from, "from", "d");
    const to = Math.min(streamPosition(query.to, "to", "d"), await e2ee.maxDeviceListPosition());
    const membership = deviceListAudience.membershipChanges
      ? await deviceListAudience.membershipChanges(user.userId, eventPosition(query.from, "from"), eventPosition(query.to, "to"))
      : { newlyShared: [], left: [] };
    const left = new Set(membership.left);
    let changed: UserId[] = [];
    if (to > from) {
      const audience = await deviceListAudience.usersSharingRoomsWith(user.userId);
      changed = (await e2ee.deviceListChangesSince(from, to)).map((c) => c.userId).filter((u) => u === user.userId || audience.has(u));
    }
    changed = [...new Set([...changed, ...membership.newlyShared])].filter((u) => !left.has(u));
    return { changed, left: [...left] };
  },
});
