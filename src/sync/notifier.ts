/**
 * Wakes waiting /sync requests (and later sliding-sync connections) when something they would return arrives.
 *
 * A waiter registers with its user id, the rooms it follows (joined, invited, knocked) and the token it would
 * answer from. Writers report per room (the room pipeline: events, and the ephemeral streams typing and receipts)
 * or per user (to-device, account data, device lists, membership changes that add a room to a user's set, such as
 * an invite). Every waiter that should see the change is woken in the same call, synchronously: there is no queue
 * between a write and the waiters.
 *
 * The notifier remembers the last position reported per room and per user, so a waiter registering with a token
 * older than something already reported (the race between computing an empty answer and registering) is woken at
 * once instead of missing it. Those maps hold one number per active room and user.
 *
 * Every report opens a new round (`round()`). Requests that resume from `wait` in the same round were woken by
 * the same report (or by reports made in one synchronous run) and nothing was reported since, so a read made
 * after the round opened, such as the current token, serves all of them (docs/sync.md, "Sharing work between
 * woken requests").
 */
import type { Pdu } from "../core/events/index.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { RoomNotifier } from "../rooms/notifier.js";
import type { StreamOrdering } from "../storage/ports.js";
import type { StreamName, StreamToken } from "./token.js";

/** Streams whose changes concern a room's members. */
export type RoomStream = Extract<StreamName, "events" | "typing" | "receipts" | "presence">;
/** Streams whose changes concern one user. */
export type UserStream = Exclude<StreamName, "typing" | "receipts">;

export interface WaitRequest {
  readonly userId: UserId;
  readonly rooms: ReadonlySet<RoomId>;
  readonly token: StreamToken;
}

export type WakeReason = "notified" | "timeout" | "aborted";

interface Waiter {
  readonly req: WaitRequest;
  wake(reason: WakeReason): void;
}

export interface NotifierTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const key = (s: string, id: string) => `${s}|${id}`;

export class Notifier implements RoomNotifier {
  private readonly byRoom = new Map<RoomId, Set<Waiter>>();
  private readonly byUser = new Map<UserId, Set<Waiter>>();
  /** The last position reported per (stream, room) and (stream, user). */
  private readonly lastRoom = new Map<string, number>();
  private readonly lastUser = new Map<UserId, Map<StreamName, number>>();
  private readonly roomListeners: Array<(roomId: RoomId, events: readonly Pdu[]) => void> = [];
  private rounds = 0;
  private closed = false;

  constructor(private readonly timers: NotifierTimers) {}

  /**
   * The server is stopping: every waiting request is woken as if its timeout had passed (it answers with what it
   * has, and the client syncs again elsewhere or after the restart), and later waits return at once. Without this a
   * graceful stop would hold every long-poll for its whole timeout.
   */
  close(): void {
    this.closed = true;
    const all = new Set<Waiter>();
    for (const s of this.byUser.values()) for (const w of s) all.add(w);
    for (const w of all) w.wake("timeout");
  }

  /** Also tells `listener` of every room write, after the waiters (src/sync/edus: presence for servers that join). */
  onRoomEvents(listener: (roomId: RoomId, events: readonly Pdu[]) => void): void {
    this.roomListeners.push(listener);
  }

  /** How many requests are waiting (tests, metrics). */
  waiting(): number {
    let n = 0;
    for (const s of this.byUser.values()) n += s.size;
    return n;
  }

  /** The number of reports so far (each notify* call counts once). */
  round(): number {
    return this.rounds;
  }

  /**
   * The room pipeline's hook (src/rooms/notifier.ts): new events in a room. The writer passes the events it wrote,
   * so nothing here reads them back from storage.
   */
  notify(position: StreamOrdering, roomId: RoomId, events: readonly Pdu[]): void {
    this.notifyRoom("events", roomId, position);
    // Invites and other member changes put a room into a user's set: their targets are woken by name.
    for (const p of events) if (p.type === "m.room.member" && p.stateKey !== undefined) this.notifyUser("events", p.stateKey as UserId, position);
    if (events.length > 0) for (const l of this.roomListeners) l(roomId, events);
  }

  notifyRoom(stream: RoomStream, roomId: RoomId, position: number): void {
    this.rounds++;
    const k = key(stream, roomId);
    if ((this.lastRoom.get(k) ?? -Infinity) < position) this.lastRoom.set(k, position);
    const set = this.byRoom.get(roomId);
    if (set) this.wakeAll(set, stream, position);
  }

  notifyUser(stream: UserStream | RoomStream, userId: UserId, position: number): void {
    this.rounds++;
    let last = this.lastUser.get(userId);
    if (!last) this.lastUser.set(userId, (last = new Map()));
    if ((last.get(stream) ?? -Infinity) < position) last.set(stream, position);
    const set = this.byUser.get(userId);
    if (set) this.wakeAll(set, stream, position);
  }

  private wakeAll(set: ReadonlySet<Waiter>, stream: StreamName, position: number): void {
    for (const w of [...set]) if (w.req.token[stream] < position) w.wake("notified");
  }

  /** A user's presence changed: the user's own waiting syncs and those of everyone in the given (joined) rooms. */
  notifyPresence(userId: UserId, rooms: Iterable<RoomId>, position: number): void {
    this.notifyUser("presence", userId, position);
    for (const r of rooms) this.notifyRoom("presence", r, position);
  }

  /** Whether something was reported after the request's token (checked when it registers). */
  private alreadyBehind(req: WaitRequest): boolean {
    for (const [stream, pos] of this.lastUser.get(req.userId) ?? []) if (req.token[stream] < pos) return true;
    for (const roomId of req.rooms) {
      for (const stream of ["events", "typing", "receipts", "presence"] as const) {
        if ((this.lastRoom.get(key(stream, roomId)) ?? -Infinity) > req.token[stream]) return true;
      }
    }
    return false;
  }

  /**
   * Waits until something the request should see is reported, `timeoutMs` passes or `signal` aborts, whichever
   * comes first. Never rejects.
   */
  wait(req: WaitRequest, timeoutMs: number, signal?: AbortSignal): Promise<WakeReason> {
    if (signal?.aborted) return Promise.resolve("aborted");
    if (this.closed) return Promise.resolve("timeout");
    if (this.alreadyBehind(req)) return Promise.resolve("notified");
    if (timeoutMs <= 0) return Promise.resolve("timeout");
    return new Promise<WakeReason>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        req,
        wake: (reason) => {
          if (done) return;
          done = true;
          this.timers.clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.unregister(waiter);
          resolve(reason);
        },
      };
      const onAbort = () => waiter.wake("aborted");
      const timer = this.timers.setTimeout(() => waiter.wake("timeout"), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.register(waiter);
    });
  }

  private register(w: Waiter): void {
    for (const r of w.req.rooms) {
      let s = this.byRoom.get(r);
      if (!s) this.byRoom.set(r, (s = new Set()));
      s.add(w);
    }
    let s = this.byUser.get(w.req.userId);
    if (!s) this.byUser.set(w.req.userId, (s = new Set()));
    s.add(w);
  }

  private unregister(w: Waiter): void {
    for (const r of w.req.rooms) {
      const s = this.byRoom.get(r);
      s?.delete(w);
      if (s?.size === 0) this.byRoom.delete(r);
    }
    const s = this.byUser.get(w.req.userId);
    s?.delete(w);
    if (s?.size === 0) this.byUser.delete(w.req.userId);
  }
}
