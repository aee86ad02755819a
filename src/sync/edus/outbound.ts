/**
 * Outbound typing, receipt and presence EDUs: what local users do, sent to the servers that should hear of it.
 * Shapes: https://spec.matrix.org/v1.16/server-server-api/#typing-notifications, #receipts, #presence.
 *
 * 1. Only local users' changes leave (remote ones arrived over federation and are not echoed).
 * 2. Destinations: the servers of the room's joined members, not ourselves, allowed by federation_domain_whitelist
 *    and the room's m.room.server_acl (RoomServers); for presence, the union over the rooms the user has joined.
 * 3. m.typing (not persistent, as Synapse): on a start and a stop (a time-out is a stop). While the user keeps
 *    typing, the start is sent again every TYPING_PING_MS, so a receiver's FEDERATED_TYPING_MS never runs out first.
 * 4. m.receipt (persistent: stored in the destination queue): public m.read only, with thread_id when threaded;
 *    m.read.private never leaves the server.
 * 5. m.presence (not persistent): only with presence.enabled and send_presence_to_federation; sent when the state,
 *    the status message or currently_active changes, or on a last-active bump of a user not currently active
 *    (Synapse's rule: a bump of an online user is not worth a federation message).
 * 6. Joins (as Synapse): when a local user joins a room, their presence goes to the room's servers; when a remote
 *    user joins, the presence of the room's local members goes to that user's server (if the room's filters let it
 *    through), at most MAX_PRESENCE_PUSH of them, so a server that has just joined does not wait for a change. That
 *    second push waits JOIN_PRESENCE_DELAY_MS: the joining server stores the room only once our send_join answer
 *    has reached it, and a receiver that (like Zion) drops presence of users it shares no room with would drop it.
 */
import type { RoomId, ServerName, UserId } from "../../core/ids/index.js";
import { serverOfUserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { PresenceRecord, PresenceStore, ReceiptRecord, RoomClientStore, RoomStore } from "../../storage/ports.js";
import type { NotifierTimers } from "../notifier.js";
import { presenceContent } from "../presence.js";
import type { EduLog } from "./inbound.js";

/** The most presence entries one join sends (step 6). */
export const MAX_PRESENCE_PUSH = 1000;
/** How long after a remote user's join the room's local presence is sent to their server (step 6). */
export const JOIN_PRESENCE_DELAY_MS = 3000;

/** How often a user still typing is announced again (Synapse's FEDERATION_PING_INTERVAL). */
export const TYPING_PING_MS = 40_000;

/** The federation sender's queueing of EDUs (FederationSender.enqueueEdu). */
export interface EduSender {
  enqueueEdu(destinations: readonly ServerName[], edu: JsonObject, opts?: { persistent?: boolean }): Promise<void>;
}

/** Where a room's EDUs go (RoomDestinations.serversForRoom). */
export interface RoomServers {
  serversForRoom(roomId: RoomId): Promise<readonly ServerName[]>;
}

export interface OutboundEduDeps {
  readonly serverName: ServerName;
  readonly sender: EduSender;
  readonly roomServers: RoomServers;
  readonly rooms: Pick<RoomStore, "getRoomsForUser">;
  /** For step 6: the room's members and their presence. */
  readonly roomClient: Pick<RoomClientStore, "getRoomMembers">;
  readonly presence: Pick<PresenceStore, "get">;
  readonly timers: NotifierTimers;
  readonly now: () => number;
  /** Whether the user is still typing (TypingStream.isTyping), checked before each repeat. */
  readonly isTyping: (roomId: RoomId, userId: UserId) => boolean;
  /** presence.enabled and send_presence_to_federation. */
  readonly sendPresence: boolean;
  readonly log: EduLog;
}

export class OutboundEdus {
  private readonly pings = new Map<string, unknown>();
  private readonly delayed = new Set<unknown>();
  private closed = false;

  constructor(private readonly deps: OutboundEduDeps) {}

  private isLocal(userId: UserId): boolean {
    return serverOfUserId(userId) === this.deps.serverName;
  }

  private failed(edu: string, e: unknown): void {
    this.deps.log.info({ edu_type: edu, err: e instanceof Error ? e.message : String(e) }, "outbound EDU not queued");
  }

  /** TypingStream's listener (step 3). */
  typingChanged(roomId: RoomId, userId: UserId, typing: boolean): void {
    if (this.closed || !this.isLocal(userId)) return;
    const key = `${roomId}\u0000${userId}`;
    const ping = this.pings.get(key);
    if (ping !== undefined) this.deps.timers.clearTimeout(ping);
    this.pings.delete(key);
    void this.sendTyping(roomId, userId, typing);
    if (typing) this.schedulePing(key, roomId, userId);
  }

  private schedulePing(key: string, roomId: RoomId, userId: UserId): void {
    this.pings.set(key, this.deps.timers.setTimeout(() => {
      this.pings.delete(key);
      if (this.closed || !this.deps.isTyping(roomId, userId)) return;
      void this.sendTyping(roomId, userId, true);
      this.schedulePing(key, roomId, userId);
    }, TYPING_PING_MS));
  }

  private async sendTyping(roomId: RoomId, userId: UserId, typing: boolean): Promise<void> {
    try {
      const to = await this.deps.roomServers.serversForRoom(roomId);
      if (to.length > 0) await this.deps.sender.enqueueEdu(to, { edu_type: "m.typing", content: { room_id: roomId, user_id: userId, typing } }, { persistent: false });
    } catch (e) {
      this.failed("m.typing", e);
    }
  }

  /** A receipt was stored (step 4). */
  async receiptStored(r: Omit<ReceiptRecord, "position">): Promise<void> {
    if (this.closed || r.receiptType !== "m.read" || !this.isLocal(r.userId)) return;
    try {
      const to = await this.deps.roomServers.serversForRoom(r.roomId);
      if (to.length === 0) return;
      const data: JsonObject = { ts: r.ts, ...(r.threadId !== null ? { thread_id: r.threadId } : {}) };
      const content = { [r.roomId]: { "m.read": { [r.userId]: { event_ids: [r.eventId], data } } } };
      await this.deps.sender.enqueueEdu(to, { edu_type: "m.receipt", content }, { persistent: true });
    } catch (e) {
      this.failed("m.receipt", e);
    }
  }

  /** A local user's presence was stored: `old` before, `now` after (step 5). */
  async presenceStored(old: PresenceRecord | null, now: PresenceRecord | null): Promise<void> {
    if (this.closed || !this.deps.sendPresence || !now || !this.isLocal(now.userId)) return;
    const worth = !old || old.state !== now.state || old.statusMsg !== now.statusMsg || (now.state !== "online" && now.lastActiveTs !== old.lastActiveTs);
    if (!worth) return;
    try {
      const servers = new Set<ServerName>();
      for (const r of await this.deps.rooms.getRoomsForUser(now.userId, "join")) for (const s of await this.deps.roomServers.serversForRoom(r)) servers.add(s);
      if (servers.size === 0) return;
      const edu = { edu_type: "m.presence", content: { push: [{ user_id: now.userId, ...presenceContent(now, this.deps.now()) }] } };
      await this.deps.sender.enqueueEdu([...servers].sort(), edu, { persistent: false });
    } catch (e) {
      this.failed("m.presence", e);
    }
  }

  /** These users' joins to the room were written (step 6). */
  async joined(roomId: RoomId, joins: readonly UserId[]): Promise<void> {
    if (this.closed || !this.deps.sendPresence || joins.length === 0) return;
    try {
      const servers = await this.deps.roomServers.serversForRoom(roomId);
      if (servers.length === 0) return;
      for (const u of joins.filter((j) => this.isLocal(j))) await this.pushPresence([u], servers);
      const newServers = [...new Set(joins.filter((j) => !this.isLocal(j)).map(serverOfUserId))].filter((s) => servers.includes(s));
      if (newServers.length === 0) return;
      const timer = this.deps.timers.setTimeout(() => {
        this.delayed.delete(timer);
        if (!this.closed) void this.pushRoomPresence(roomId, newServers.sort());
      }, JOIN_PRESENCE_DELAY_MS);
      this.delayed.add(timer);
    } catch (e) {
      this.failed("m.presence", e);
    }
  }

  private async pushRoomPresence(roomId: RoomId, to: readonly ServerName[]): Promise<void> {
    try {
      const locals = (await this.deps.roomClient.getRoomMembers(roomId, "join")).filter((m) => this.isLocal(m)).slice(0, MAX_PRESENCE_PUSH);
      await this.pushPresence(locals, to);
    } catch (e) {
      this.failed("m.presence", e);
    }
  }

  /** One m.presence EDU with the stored presence of `users` (those never seen are left out). */
  private async pushPresence(users: readonly UserId[], to: readonly ServerName[]): Promise<void> {
    const push: JsonObject[] = [];
    for (const u of users) {
      const p = await this.deps.presence.get(u);
      if (p) push.push({ user_id: u, ...presenceContent(p, this.deps.now()) });
    }
    if (push.length > 0) await this.deps.sender.enqueueEdu(to, { edu_type: "m.presence", content: { push } }, { persistent: false });
  }

  /** Stops the typing repeats (server stop). */
  close(): void {
    this.closed = true;
    for (const t of [...this.pings.values(), ...this.delayed]) this.deps.timers.clearTimeout(t);
    this.pings.clear();
    this.delayed.clear();
  }
}
