/**
 * https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3notifications
 *
 * 1. `from` (a `next_token` from an earlier page), `limit` (default 20, at most 100), `only` (`highlight` keeps the
 *    highlighting ones; any other value is 400 M_INVALID_PARAM).
 * 2. The events of the user's joined rooms, newest first, that its push rules (core/push, as the unread counts of
 *    /sync evaluate them) say notify, the user's own events left out and history visibility applied; each with its
 *    `actions`, `read` (at or before the user's m.read or m.read.private receipt in the room), `room_id` and `ts`.
 * 3. Zion keeps no table of past notifications (Synapse's event_push_actions): the rules are evaluated as the
 *    stream is walked back (shared/stream-scan.ts, bounded per request), so an event is listed by the rules as they
 *    are now, and `next_token` resumes the walk.
 */
import { z } from "zod";
import { PowerLevelView } from "../../../core/auth/index.js";
import { MatrixError } from "../../../core/errors.js";
import type { RoomId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, evaluatePushRules, type PushContext, type UserPushRules } from "../../../core/push/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { RoomDeps, SyncDeps } from "../deps.js";
import { scanBack } from "../shared/stream-scan.js";

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

type Deps = Pick<RoomDeps, "roomStore" | "events" | "roomReads" | "clock" | "roomClient"> & Pick<SyncDeps, "receipts" | "pushRules">;

/** What the rules need of one room for one user, read once per request. */
async function roomContext(deps: Deps, roomId: RoomId, userId: PushContext["userId"]) {
  const [plId, createId, memberId, joined] = await Promise.all([
    deps.roomStore.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
    deps.roomStore.getCurrentStateEventId(roomId, "m.room.create", ""),
    deps.roomStore.getCurrentStateEventId(roomId, "m.room.member", userId),
    deps.roomClient.countRoomMembers([roomId], "join"),
  ]);
  const state = await deps.events.getPdus([plId, createId, memberId].filter((x) => x !== null));
  const pl = plId ? state.get(plId) : undefined;
  const create = createId ? state.get(createId) : undefined;
  const member = memberId ? state.get(memberId) : undefined;
  const notifications = pl && typeof pl.content["notifications"] === "object" && pl.content["notifications"] !== null ? (pl.content["notifications"] as Record<string, number>) : {};
  let read = 0;
  for (const type of ["m.read", "m.read.private"]) {
    const r = await deps.receipts.get(roomId, userId, type, null);
    const pos = r ? await deps.events.getRoomPosition(r.eventId) : null;
    if (pos && pos.stream > read) read = pos.stream;
  }
  return {
    view: create ? new PowerLevelView(pl, create, create.roomVersion) : undefined,
    notifications,
    displayName: typeof member?.content["displayname"] === "string" ? member.content["displayname"] : null,
    memberCount: joined.get(roomId) ?? 0,
    read,
  };
}

export const getNotifications = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/notifications",
  auth: "access-token",
  query: z.looseObject({ from: z.string().optional(), limit: z.string().optional(), only: z.string().optional() }),
  async handle({ user, query }, deps: Deps) {
    // Step 1
    let to = await deps.events.maxStreamOrdering();
    if (query.from !== undefined) {
      const m = /^n(\d{1,16})$/.exec(query.from);
      if (!m || !Number.isSafeInteger(Number(m[1]))) throw MatrixError.invalidParam("from", "is not a token this server issued");
      to = Math.min(to, Number(m[1]));
    }
    if (query.limit !== undefined && !/^\d{1,9}$/.test(query.limit)) throw MatrixError.invalidParam("limit", "must be a non-negative integer");
    const limit = Math.min(query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit), MAX_LIMIT);
    if (query.only !== undefined && query.only !== "highlight") throw MatrixError.invalidParam("only", 'must be "highlight"');
    // Step 2
    const rooms = await deps.roomStore.getRoomsForUser(user.userId, "join");
    const stored = ((await deps.pushRules.get(user.userId)) as unknown as UserPushRules | null) ?? NO_USER_PUSH_RULES;
    const ruleset = effectivePushRuleset({ userId: user.userId }, stored);
    const contexts = new Map<RoomId, Awaited<ReturnType<typeof roomContext>>>();
    const { hits, to: rest } = await scanBack(deps.events, rooms, to, limit, async (roomId, events) => {
      const ctx = contexts.get(roomId) ?? (await roomContext(deps, roomId, user.userId));
      contexts.set(roomId, ctx);
      const notifying = events.flatMap((e) => {
        if (e.pdu.sender === user.userId) return [];
        const outcome = evaluatePushRules(ruleset, e.pdu.raw, {
          userId: user.userId, displayName: ctx.displayName, memberCount: ctx.memberCount,
          senderPowerLevel: ctx.view ? ctx.view.userLevel(e.pdu.sender) : 0, notificationPowerLevels: ctx.notifications,
        });
        return outcome?.notify && (query.only === undefined || outcome.highlight) ? [{ stored: e, extra: { actions: outcome.actions, read: e.streamOrdering <= ctx.read } }] : [];
      });
      const visible = new Set((await deps.roomReads.visibleTo(user.userId, roomId, notifying.map((n) => n.stored.pdu))).map((p) => p.eventId));
      return notifying.filter((n) => visible.has(n.stored.pdu.eventId));
    });
    const events = await deps.roomReads.clientEventsFor(user.userId, hits.map((h) => h.pdu), deps.clock.now());
    // Step 3
    return {
      notifications: hits.map((h, i) => ({ actions: h.extra.actions as unknown as JsonObject[], event: events[i]!, read: h.extra.read, room_id: h.pdu.roomId, ts: h.pdu.originServerTs })),
      ...(rest > 0 ? { next_token: `n${rest}` } : {}),
    };
  },
});
