/**
 * Typing notifications (https://spec.matrix.org/v1.16/client-server-api/#typing-notifications): in memory only,
 * as in Synapse. Each change (a user starts, stops, or times out) takes the next position of the typing stream
 * and wakes the room's waiting syncs. Positions restart from 0 with the process; a token from before a restart
 * may be ahead of the stream, and is then read as 0 (every room with typers is sent again, which is harmless:
 * m.typing replaces the whole list).
 */
import type { Clock } from "../core/clock.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { Notifier, NotifierTimers } from "./notifier.js";

/** The longest a typing notification lasts, whatever `timeout` the client asks for. */
export const MAX_TYPING_MS = 120_000;

/** Told when a user starts or stops typing in a room (a time-out is a stop; a refresh of one still typing is not told). */
export type TypingListener = (roomId: RoomId, userId: UserId, typing: boolean) => void;

interface Typer {
  readonly until: number;
  readonly timer: unknown;
}

export class TypingStream {
  private position = 0;
  private readonly rooms = new Map<RoomId, { typers: Map<UserId, Typer>; position: number }>();
  private readonly listeners: TypingListener[] = [];

  constructor(private readonly deps: { clock: Clock; timers: NotifierTimers; notifier: Notifier }) {}

  current(): number {
    return this.position;
  }

  /** Adds a listener of starts and stops (the federation of typing, src/sync/edus). */
  onChange(listener: TypingListener): void {
    this.listeners.push(listener);
  }

  isTyping(roomId: RoomId, userId: UserId): boolean {
    return this.rooms.get(roomId)?.typers.has(userId) ?? false;
  }

  /** Starts (timeoutMs > 0) or stops (null) a user's typing in a room. */
  set(roomId: RoomId, userId: UserId, timeoutMs: number | null): void {
    let room = this.rooms.get(roomId);
    const had = room?.typers.get(userId);
    if (had) this.deps.timers.clearTimeout(had.timer);
    if (timeoutMs === null) {
      if (!had) return;
      room!.typers.delete(userId);
    } else {
      const ms = Math.min(Math.max(timeoutMs, 0), MAX_TYPING_MS);
      if (!room) this.rooms.set(roomId, (room = { typers: new Map(), position: 0 }));
      const timer = this.deps.timers.setTimeout(() => this.expire(roomId, userId), ms);
      room.typers.set(userId, { until: this.deps.clock.now() + ms, timer });
      if (had) return; // still typing: no change for readers
    }
    this.changed(roomId);
    this.tell(roomId, userId, timeoutMs !== null);
  }

  private expire(roomId: RoomId, userId: UserId): void {
    const room = this.rooms.get(roomId);
    if (!room?.typers.delete(userId)) return;
    this.changed(roomId);
    this.tell(roomId, userId, false);
  }

  private tell(roomId: RoomId, userId: UserId, typing: boolean): void {
    for (const l of this.listeners) l(roomId, userId, typing);
  }

  private changed(roomId: RoomId): void {
    const room = this.rooms.get(roomId)!;
    room.position = ++this.position;
    this.deps.notifier.notifyRoom("typing", roomId, room.position);
  }

  /**
   * The m.typing event of each of `rooms` that changed after `since` (all rooms with typers when since is 0 or
   * ahead of the stream, i.e. from before a restart).
   */
  changesSince(rooms: Iterable<RoomId>, since: number): Map<RoomId, UserId[]> {
    const from = since > this.position ? 0 : since;
    const out = new Map<RoomId, UserId[]>();
    for (const r of rooms) {
      const room = this.rooms.get(r);
      if (!room || room.position <= from) continue;
      if (from === 0 && room.typers.size === 0) continue;
      out.set(r, [...room.typers.keys()].sort());
    }
    return out;
  }

  /** Stops every timer (server stop). */
  close(): void {
    for (const room of this.rooms.values()) for (const t of room.typers.values()) this.deps.timers.clearTimeout(t.timer);
    this.rooms.clear();
  }
}
