/**
 * Inbound typing, receipt and presence EDUs, fed into the same stores as local ones so local /sync sees them.
 * Typing: https://spec.matrix.org/v1.16/server-server-api/#typing-notifications
 * Receipts: https://spec.matrix.org/v1.16/server-server-api/#receipts
 * Presence: https://spec.matrix.org/v1.16/server-server-api/#presence
 * ACLs on EDUs: https://spec.matrix.org/v1.16/server-server-api/#server-access-control-lists-acls
 *
 * Every check that fails drops that EDU (or that receipt, or that presence entry) with one log line naming the
 * reason, and never fails the transaction: the PDUs' answer stands (EduRegistry).
 * m.typing: 1. shape (room_id, user_id, typing boolean); 2. the user belongs to the origin; 3. the room's
 *   m.room.server_acl allows the origin; 4. the user is joined to the room; 5. typing for FEDERATED_TYPING_MS
 *   (each new EDU restarts it), or stopped.
 * m.receipt: per room: 1. a room id, 3. the ACL (all the room's receipts are dropped when it denies the origin);
 *   per receipt: only m.read (m.read.private is never federated; other types are unknown), 2. the user belongs to
 *   the origin, 4. joined, the shape (event_ids one event id, data.ts an integer, data.thread_id "main" or an event
 *   id); 5. stored as the user's receipt of that thread, waking the room's syncs.
 * m.presence: only with presence.enabled; per push entry: shape, the user belongs to the origin, the user shares a
 *   room with us (joined to one we know), then stored with last_active_ts = now - last_active_ago.
 */
import type { Clock } from "../../core/clock.js";
import { serverAllowedByAcl } from "../../core/acl/index.js";
import { parseEventId, parseRoomId, parseUserId, serverOfUserId, type RoomId, type ServerName, type UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import type { EduHandler } from "../../rooms/index.js";
import type { EventStore, PresenceStore, ReceiptStore, RoomStore } from "../../storage/ports.js";
import type { Notifier } from "../notifier.js";
import { PRESENCE_STATES } from "../presence.js";
import type { TypingStream } from "../typing.js";

/** How long a remote user's typing lasts without a new EDU (Synapse's FEDERATION_TIMEOUT; the spec names none). */
export const FEDERATED_TYPING_MS = 60_000;
/** Receipts (or presence entries) one EDU may carry; the rest are dropped, each a storage write. */
export const MAX_ENTRIES_PER_EDU = 1000;
/** The longest status_msg kept (the client API's own limit). */
export const MAX_STATUS_MSG = 1000;

export interface EduLog {
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface InboundEduDeps {
  readonly typing: Pick<TypingStream, "set">;
  readonly storage: {
    readonly rooms: Pick<RoomStore, "getCurrentStateEventId" | "getRoomsForUser">;
    readonly events: Pick<EventStore, "getPdus">;
    readonly receipts: Pick<ReceiptStore, "put">;
    readonly presence: Pick<PresenceStore, "put">;
  };
  readonly notifier: Pick<Notifier, "notifyRoom" | "notifyPresence">;
  readonly clock: Clock;
  /** presence.enabled: false drops every m.presence EDU. */
  readonly presenceEnabled: boolean;
  readonly log: EduLog;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** A reason to drop what is being read; thrown by the parsers below and logged by the handler. */
class Dropped extends Error {}

function str(o: JsonObject, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new Dropped(`${where}${key} must be a string`);
  return v;
}

/** Runs `parse`; a MatrixError from an id parser or a Dropped becomes the reason. */
function attempt<T>(parse: () => T): { ok: true; value: T } | { ok: false; reason: string } {
  try {
    return { ok: true, value: parse() };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

export class InboundEdus {
  constructor(private readonly deps: InboundEduDeps) {}

  handlers(): EduHandler[] {
    return [
      { type: "m.typing", handle: (origin, content) => this.typing(origin, content) },
      { type: "m.receipt", handle: (origin, content) => this.receipts(origin, content) },
      { type: "m.presence", handle: (origin, content) => this.presence(origin, content) },
    ];
  }

  private drop(origin: ServerName, type: string, reason: string, extra: Record<string, unknown> = {}): void {
    this.deps.log.info({ origin, edu_type: type, reason, ...extra }, "inbound EDU dropped");
  }

  private async aclAllows(roomId: RoomId, origin: ServerName): Promise<boolean> {
    const { rooms, events } = this.deps.storage;
    const id = await rooms.getCurrentStateEventId(roomId, "m.room.server_acl", "");
    if (!id) return true;
    return serverAllowedByAcl((await events.getPdus([id])).get(id)?.content, origin).allowed;
  }

  private async isJoined(roomId: RoomId, userId: UserId): Promise<boolean> {
    const { rooms, events } = this.deps.storage;
    const id = await rooms.getCurrentStateEventId(roomId, "m.room.member", userId);
    if (!id) return false;
    return (await events.getPdus([id])).get(id)?.content["membership"] === "join";
  }

  async typing(origin: ServerName, content: JsonObject): Promise<void> {
    // Step 1.
    const parsed = attempt(() => {
      const roomId = parseRoomId(str(content, "room_id", ""), "room_id");
      const userId = parseUserId(str(content, "user_id", ""), "user_id");
      if (typeof content["typing"] !== "boolean") throw new Dropped("typing must be a boolean");
      return { roomId, userId, typing: content["typing"] };
    });
    if (!parsed.ok) return this.drop(origin, "m.typing", parsed.reason);
    const { roomId, userId, typing } = parsed.value;
    // Step 2.
    if (serverOfUserId(userId) !== origin) return this.drop(origin, "m.typing", `${userId} does not belong to ${origin}`, { room_id: roomId });
    // Step 3.
    if (!(await this.aclAllows(roomId, origin))) return this.drop(origin, "m.typing", `the server ACL of ${roomId} denies ${origin}`);
    // Step 4.
    if (!(await this.isJoined(roomId, userId))) return this.drop(origin, "m.typing", `${userId} is not joined to ${roomId}`);
    // Step 5.
    this.deps.typing.set(roomId, userId, typing ? FEDERATED_TYPING_MS : null);
  }

  async receipts(origin: ServerName, content: JsonObject): Promise<void> {
    let budget = MAX_ENTRIES_PER_EDU;
    for (const [rawRoom, byType] of Object.entries(content)) {
      // Step 1.
      const room = attempt(() => parseRoomId(rawRoom, "room_id"));
      if (!room.ok) {
        this.drop(origin, "m.receipt", room.reason);
        continue;
      }
      const roomId = room.value;
      if (!isObject(byType)) {
        this.drop(origin, "m.receipt", "the receipts of a room must be an object", { room_id: roomId });
        continue;
      }
      // Step 3.
      if (!(await this.aclAllows(roomId, origin))) {
        this.drop(origin, "m.receipt", `the server ACL of ${roomId} denies ${origin}`);
        continue;
      }
      for (const [receiptType, byUser] of Object.entries(byType)) {
        if (receiptType !== "m.read") {
          this.drop(origin, "m.receipt", `receipt type ${receiptType} is not federated (only m.read)`, { room_id: roomId });
          continue;
        }
        if (!isObject(byUser)) {
          this.drop(origin, "m.receipt", "m.read must be an object of user ids", { room_id: roomId });
          continue;
        }
        for (const [rawUser, receipt] of Object.entries(byUser)) {
          if (budget-- <= 0) return this.drop(origin, "m.receipt", `more than ${MAX_ENTRIES_PER_EDU} receipts in one EDU; the rest are ignored`);
          await this.receipt(origin, roomId, rawUser, receipt);
        }
      }
    }
  }

  private async receipt(origin: ServerName, roomId: RoomId, rawUser: string, receipt: JsonValue): Promise<void> {
    const parsed = attempt(() => {
      const userId = parseUserId(rawUser, "user_id");
      if (!isObject(receipt)) throw new Dropped("a receipt must be an object");
      const ids = receipt["event_ids"];
      if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== "string") throw new Dropped("event_ids must hold exactly one event id");
      const eventId = parseEventId(ids[0], "event_ids[0]");
      const data = receipt["data"];
      if (!isObject(data)) throw new Dropped("data must be an object");
      const ts = data["ts"];
      if (typeof ts !== "number" || !Number.isSafeInteger(ts)) throw new Dropped("data.ts must be an integer");
      let threadId: string | null = null;
      if (data["thread_id"] !== undefined) {
        threadId = str(data, "thread_id", "data.");
        if (threadId !== "main") parseEventId(threadId, "data.thread_id");
      }
      return { userId, eventId, ts, threadId };
    });
    if (!parsed.ok) return this.drop(origin, "m.receipt", parsed.reason, { room_id: roomId, user_id: rawUser });
    const { userId, eventId, ts, threadId } = parsed.value;
    // Step 2.
    if (serverOfUserId(userId) !== origin) return this.drop(origin, "m.receipt", `${userId} does not belong to ${origin}`, { room_id: roomId });
    // Step 4.
    if (!(await this.isJoined(roomId, userId))) return this.drop(origin, "m.receipt", `${userId} is not joined to ${roomId}`);
    // Step 5.
    const pos = await this.deps.storage.receipts.put({ roomId, userId, receiptType: "m.read", threadId, eventId, ts });
    this.deps.notifier.notifyRoom("receipts", roomId, pos);
  }

  async presence(origin: ServerName, content: JsonObject): Promise<void> {
    if (!this.deps.presenceEnabled) return this.drop(origin, "m.presence", "presence.enabled is false");
    const push = content["push"];
    if (!Array.isArray(push)) return this.drop(origin, "m.presence", "push must be an array");
    if (push.length > MAX_ENTRIES_PER_EDU) this.drop(origin, "m.presence", `more than ${MAX_ENTRIES_PER_EDU} entries in push; the rest are ignored`);
    for (const entry of push.slice(0, MAX_ENTRIES_PER_EDU)) {
      const parsed = attempt(() => {
        if (!isObject(entry)) throw new Dropped("a push entry must be an object");
        const userId = parseUserId(str(entry, "user_id", ""), "user_id");
        const state = str(entry, "presence", "");
        if (!(PRESENCE_STATES as readonly string[]).includes(state)) throw new Dropped(`presence must be one of ${PRESENCE_STATES.join(", ")}`);
        const ago = entry["last_active_ago"];
        if (typeof ago !== "number" || !Number.isSafeInteger(ago) || ago < 0) throw new Dropped("last_active_ago must be a non-negative integer");
        if (entry["currently_active"] !== undefined && typeof entry["currently_active"] !== "boolean") throw new Dropped("currently_active must be a boolean");
        let statusMsg: string | null = null;
        if (entry["status_msg"] !== undefined && entry["status_msg"] !== null) {
          statusMsg = str(entry, "status_msg", "");
          if (statusMsg.length > MAX_STATUS_MSG) throw new Dropped(`status_msg is longer than ${MAX_STATUS_MSG} characters`);
        }
        return { userId, state, ago, statusMsg };
      });
      if (!parsed.ok) {
        this.drop(origin, "m.presence", parsed.reason);
        continue;
      }
      const { userId, state, ago, statusMsg } = parsed.value;
      if (serverOfUserId(userId) !== origin) {
        this.drop(origin, "m.presence", `${userId} does not belong to ${origin}`);
        continue;
      }
      const rooms = await this.deps.storage.rooms.getRoomsForUser(userId, "join");
      if (rooms.length === 0) {
        this.drop(origin, "m.presence", `${userId} shares no room with this server`);
        continue;
      }
      const pos = await this.deps.storage.presence.put(userId, state, statusMsg, this.deps.clock.now() - ago);
      this.deps.notifier.notifyPresence(userId, rooms, pos);
    }
  }
}
