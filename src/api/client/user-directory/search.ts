/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3user_directorysearch
 *
 * 1. `search_term` (required text, at most 256 characters) and `limit` (default 10, at most 50).
 * 2. Who is searched, as Synapse's default (`user_directory.search_all_users: false`): the users joined to a room the
 *    requester is joined to, and the users joined to a room published in the directory; local and remote alike,
 *    by their member events. At most MAX_ROOMS rooms and MAX_USERS users are read, so the work is bounded.
 * 3. A user matches when every word of the term occurs (case-insensitively) in its user id or display name. Users
 *    sharing a room with the requester come first, then by display name (or user id); `limited` when more matched.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { RoomId } from "../../../core/ids/index.js";
import { membershipOf } from "../../../core/visibility/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps } from "../deps.js";

export const MAX_ROOMS = 500;
export const MAX_USERS = 10_000;
export const MAX_LIMIT = 50;
const MEMBER_PREFIX = "m.room.member\u0000";

interface Candidate { readonly userId: string; readonly eventId: string; shared: boolean }

export const searchUserDirectory = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/user_directory/search",
  auth: "access-token",
  body: z.looseObject({ search_term: z.string().max(256), limit: z.unknown().optional() }),
  maxBodyBytes: 4 * 1024,
  async handle({ user, body }, deps: Pick<RoomDeps, "roomStore" | "roomClient" | "events">) {
    // Step 1
    const limit = body.limit ?? 10;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
    const words = body.search_term.toLowerCase().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) return { results: [], limited: false };
    // Step 2
    const joined = await deps.roomStore.getRoomsForUser(user.userId, "join");
    const published = await deps.roomClient.getPublishedRooms();
    const rooms: [RoomId, boolean][] = [...joined.map((r) => [r, true] as [RoomId, boolean]), ...published.filter((r) => !joined.includes(r)).map((r) => [r, false] as [RoomId, boolean])].slice(0, MAX_ROOMS);
    const candidates = new Map<string, Candidate>();
    for (const [roomId, shared] of rooms) {
      if (candidates.size >= MAX_USERS) break;
      for (const [k, eventId] of await deps.roomStore.getCurrentState(roomId)) {
        if (!k.startsWith(MEMBER_PREFIX)) continue;
        const userId = k.slice(MEMBER_PREFIX.length);
        const seen = candidates.get(userId);
        if (seen) { seen.shared ||= shared; continue; }
        if (candidates.size >= MAX_USERS) break;
        candidates.set(userId, { userId, eventId, shared });
      }
    }
    // Step 3
    const pdus = await deps.events.getPdus([...candidates.values()].map((c) => c.eventId as never));
    const matches: { userId: string; shared: boolean; displayname: string | undefined; avatarUrl: string | undefined }[] = [];
    for (const c of candidates.values()) {
      const pdu = pdus.get(c.eventId as never);
      if (!pdu || membershipOf(pdu.content) !== "join") continue;
      const displayname = typeof pdu.content["displayname"] === "string" ? pdu.content["displayname"] : undefined;
      const avatarUrl = typeof pdu.content["avatar_url"] === "string" ? pdu.content["avatar_url"] : undefined;
      const text = `${c.userId} ${displayname ?? ""}`.toLowerCase();
      if (words.every((w) => text.includes(w))) matches.push({ userId: c.userId, shared: c.shared, displayname, avatarUrl });
    }
    const name = (m: (typeof matches)[number]) => (m.displayname ?? m.userId).toLowerCase();
    matches.sort((a, b) => Number(b.shared) - Number(a.shared) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : a.userId < b.userId ? -1 : 1));
    const take = Math.min(limit, MAX_LIMIT);
    return {
      results: matches.slice(0, take).map((m) => ({ user_id: m.userId, ...(m.displayname !== undefined ? { display_name: m.displayname } : {}), ...(m.avatarUrl !== undefined ? { avatar_url: m.avatarUrl } : {}) })),
      limited: matches.length > take,
    };
  },
});
