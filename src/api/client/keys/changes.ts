/**
 * https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3keyschanges
 * 1. `from` and `to` are sync tokens; their device-list positions (the `d` segment) bound the changes.
 * 2. `changed`: users whose devices or keys changed in (from, to] and whom the requester should track: itself and
 *    the users it shares a room with (DeviceListAudience, from the rooms layer). `left` stays empty until rooms exist.
 */
import { z } from "zod";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { streamPosition } from "../shared/stream-token.js";

export const keyChanges = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/keys/changes",
  auth: "access-token",
  query: z.object({ from: z.string(), to: z.string() }),
  async handle({ user, query }, { e2ee, deviceListAudience }: Pick<UserDataDeps, "e2ee" | "deviceListAudience">) {
    const from = streamPosition(query.from, "from", "d");
    const to = Math.min(streamPosition(query.to, "to", "d"), await e2ee.maxDeviceListPosition());
    if (to <= from) return { changed: [], left: [] };
    const audience = await deviceListAudience.usersSharingRoomsWith(user.userId);
    const changed = (await e2ee.deviceListChangesSince(from, to)).map((c) => c.userId).filter((u) => u === user.userId || audience.has(u));
    return { changed, left: [] };
  },
});
