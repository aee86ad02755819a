/**
 * Delivering push notifications to push gateways
 * (https://spec.matrix.org/v1.13/push-gateway-api/#post_matrixpushv1notify): each http pusher sends its user's
 * stored push actions (migration 0018, written with the events) after its `last_stream_ordering`, oldest first,
 * one POST each to its `data.url`. The position is stored after each answer, so the queue is the push actions
 * table itself: nothing is lost by a crash or a restart (start() resumes every pusher), and an event is sent again
 * at most once after a crash between the gateway's answer and the position write.
 *
 * 1. A pusher is woken after a commit that stored push actions for its user (PushActions.onStored), and at start.
 * 2. It reads the actions up to the committed stream position (a later position may commit before an earlier one
 *    on PostgreSQL; those are read once they are committed) and builds one notification per action: the full
 *    format, or with `data.format: "event_id_only"` only event_id, room_id, counts, devices and prio.
 * 3. A 2xx answer advances the position; `rejected` naming the pusher's pushkey deletes every pusher with that
 *    (app_id, pushkey), as Synapse does. Any other answer, an unreachable gateway or one the IP policy refuses
 *    (the `post` given checks ip_range_blacklist) is a failure: the pusher waits (1 s, doubling, at most 1 hour),
 *    recording when the failures began, and tries the same action again; an action failing for longer than a day
 *    is skipped.
 */
import type { Clock } from "../core/clock.js";
import type { Pdu } from "../core/events/index.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import type { PusherDelivery, Storage, StoredPushAction, StreamOrdering } from "../storage/ports.js";
import type { NotifierTimers } from "./notifier.js";
import { unreadCounts } from "./unread.js";

export type PushSenderStorage = Pick<Storage, "pushers" | "pushActions" | "events" | "rooms" | "receipts">;

/** POSTs a JSON body to a gateway URL under the outbound IP policy (app/: policyFetch); throws when unreachable. */
export type GatewayPost = (url: string, body: string) => Promise<{ readonly status: number; readonly body: Buffer }>;

export interface PushSenderDeps {
  readonly storage: PushSenderStorage;
  readonly post: GatewayPost;
  readonly clock: Clock;
  readonly timers: NotifierTimers;
  readonly log?: (msg: string, fields: Record<string, unknown>) => void;
  /** Back-off (defaults: 1 s, doubling, 1 hour) and when a failing action is skipped (default a day). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number; readonly giveUpMs: number };
}

export const DEFAULT_PUSH_BACKOFF = { minMs: 1_000, maxMs: 3_600_000, giveUpMs: 24 * 3_600_000 } as const;

/** Actions read per round. */
const PAGE = 20;
/** How soon to look again when an action is stored but not yet below the committed position. */
const UNCOMMITTED_RECHECK_MS = 100;

interface Worker {
  running: boolean;
  again: boolean;
  /** The highest stored ordering this worker heard of. */
  wanted: StreamOrdering;
  waitMs: number;
  timer: unknown;
}

const keyOf = (p: { userId: UserId; appId: string; pushkey: string }): string => JSON.stringify([p.userId, p.appId, p.pushkey]);

export class PushSender {
  private readonly workers = new Map<string, Worker>();
  private closed = false;
  private readonly backoff: { readonly minMs: number; readonly maxMs: number; readonly giveUpMs: number };

  constructor(private readonly deps: PushSenderDeps) {
    this.backoff = deps.backoff ?? DEFAULT_PUSH_BACKOFF;
  }

  /** Step 1 at start-up: every http pusher resumes from its stored position. */
  async start(): Promise<void> {
    for (const p of await this.deps.storage.pushers.deliveries("http")) this.wake(p, 0);
  }

  /** Step 1: users with new push actions (and the highest ordering stored for each). */
  stored(users: ReadonlyMap<UserId, StreamOrdering>): void {
    if (this.closed) return;
    void this.deps.storage.pushers.deliveries("http", [...users.keys()]).then(
      (pushers) => {
        for (const p of pushers) this.wake(p, users.get(p.userId) ?? 0);
      },
      (e: unknown) => this.deps.log?.("could not read pushers", { error: String(e) }),
    );
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers.values()) if (w.timer !== undefined) this.deps.timers.clearTimeout(w.timer);
    this.workers.clear();
  }

  /** Whether any pusher is delivering or waiting to retry (tests wait for quiet). */
  busy(): boolean {
    return [...this.workers.values()].some((w) => w.running || w.timer !== undefined);
  }

  private wake(p: PusherDelivery, wanted: StreamOrdering): void {
    const key = keyOf(p);
    let w = this.workers.get(key);
    if (!w) this.workers.set(key, (w = { running: false, again: false, wanted: 0, waitMs: 0, timer: undefined }));
    if (wanted > w.wanted) w.wanted = wanted;
    if (w.timer !== undefined && w.waitMs > 0) return; // backing off: the retry will pick this up
    if (w.running) {
      w.again = true;
      return;
    }
    void this.run(key, w, p);
  }

  private async run(key: string, w: Worker, first: PusherDelivery): Promise<void> {
    w.running = true;
    if (w.timer !== undefined) {
      this.deps.timers.clearTimeout(w.timer);
      w.timer = undefined;
    }
    let retryIn: number | null = null;
    try {
      let pusher: PusherDelivery | undefined = first;
      do {
        w.again = false;
        // The pusher as stored now (it may have been replaced or deleted meanwhile).
        pusher = (await this.deps.storage.pushers.deliveries("http", [first.userId])).find((x) => x.appId === first.appId && x.pushkey === first.pushkey);
        if (!pusher) break;
        retryIn = await this.deliver(pusher, w);
        if (retryIn !== null) break;
      } while (w.again && !this.closed);
    } catch (e) {
      this.deps.log?.("push delivery failed", { pusher: key, error: String(e) });
      retryIn = this.nextWait(w);
    } finally {
      w.running = false;
    }
    if (this.closed) return;
    if (retryIn === null) {
      this.workers.delete(key);
      return;
    }
    w.timer = this.deps.timers.setTimeout(() => {
      w.timer = undefined;
      if (this.closed) return;
      void this.run(key, w, first);
    }, retryIn);
  }

  private nextWait(w: Worker): number {
    w.waitMs = w.waitMs <= 0 ? this.backoff.minMs : Math.min(w.waitMs * 2, this.backoff.maxMs);
    return w.waitMs;
  }

  /** Steps 2-3 for one pusher: null when it is caught up (or gone), else the wait before trying again. */
  private async deliver(p: PusherDelivery, w: Worker): Promise<number | null> {
    const { storage } = this.deps;
    let last = p.lastStreamOrdering;
    let failingSince = p.failingSince;
    for (;;) {
      if (this.closed) return null;
      const committed = await storage.events.maxStreamOrdering();
      const actions = await storage.pushActions.listAfter(p.userId, last, committed, PAGE);
      if (actions.length === 0) return w.wanted > committed ? UNCOMMITTED_RECHECK_MS : null;
      for (const a of actions) {
        const outcome = await this.send(p, a);
        if (outcome === "rejected") {
          const n = await storage.pushers.deleteByPushkey(p.appId, p.pushkey);
          this.deps.log?.("push gateway rejected the pushkey; pusher deleted", { app_id: p.appId, pushers: n });
          return null;
        }
        if (outcome === "failed") {
          const now = this.deps.clock.now();
          failingSince ??= now;
          if (now - failingSince < this.backoff.giveUpMs) {
            await storage.pushers.updateDelivery(p.userId, p.appId, p.pushkey, last, failingSince);
            return this.nextWait(w);
          }
          this.deps.log?.("push notification given up after failing for a day", { app_id: p.appId, event_id: a.eventId });
        }
        last = a.streamOrdering;
        failingSince = null;
        w.waitMs = 0;
        await storage.pushers.updateDelivery(p.userId, p.appId, p.pushkey, last, null);
      }
    }
  }

  private async send(p: PusherDelivery, a: StoredPushAction): Promise<"ok" | "rejected" | "failed"> {
    const url = p.data["url"];
    if (typeof url !== "string") return "rejected"; // set-pusher requires it; a row without one cannot be delivered
    let body: string;
    try {
      body = JSON.stringify({ notification: await this.notification(p, a) });
    } catch (e) {
      this.deps.log?.("could not build a push notification", { event_id: a.eventId, error: String(e) });
      return "ok"; // the event is gone or unreadable: nothing to send, move on
    }
    let res: { status: number; body: Buffer };
    try {
      res = await this.deps.post(url, body);
    } catch (e) {
      this.deps.log?.("push gateway unreachable", { url, error: String(e) });
      return "failed";
    }
    if (res.status < 200 || res.status >= 300) {
      this.deps.log?.("push gateway answered with an error", { url, status: res.status });
      return "failed";
    }
    let rejected: unknown;
    try {
      rejected = (JSON.parse(res.body.toString("utf8")) as JsonObject)["rejected"];
    } catch {
      rejected = undefined;
    }
    return Array.isArray(rejected) && rejected.includes(p.pushkey) ? "rejected" : "ok";
  }

  /** The Push Gateway API's Notification for one action (step 2). */
  private async notification(p: PusherDelivery, a: StoredPushAction): Promise<JsonObject> {
    const { storage } = this.deps;
    const pdu = (await storage.events.getPdus([a.eventId])).get(a.eventId);
    if (!pdu) throw new Error(`event ${a.eventId} is not stored`);
    const tweaks: Record<string, JsonValue> = {};
    for (const act of a.actions) {
      if (typeof act !== "object" || act === null || Array.isArray(act)) continue;
      const o = act as JsonObject;
      const tweak = o["set_tweak"];
      if (typeof tweak === "string") tweaks[tweak] = o["value"] === undefined ? true : o["value"]!;
    }
    const { url: _url, ...data } = p.data;
    const device: JsonObject = { app_id: p.appId, pushkey: p.pushkey, pushkey_ts: Math.floor(p.pushkeyTs / 1000), data, tweaks };
    // As Synapse: high for highlights, sounds and encrypted events (which may be messages or calls).
    const prio = tweaks["highlight"] === true || tweaks["sound"] !== undefined || pdu.type === "m.room.encrypted" ? "high" : "low";
    const counts: JsonObject = { unread: await this.unreadTotal(p.userId) };
    if (p.data["format"] === "event_id_only") return { event_id: pdu.eventId, room_id: pdu.roomId, counts, devices: [device], prio };
    const out: Record<string, JsonValue> = { event_id: pdu.eventId, room_id: pdu.roomId, type: pdu.type, sender: pdu.sender, prio, counts, devices: [device], content: pdu.content as JsonObject };
    const [name, senderName] = await Promise.all([this.stateContent(pdu.roomId, "m.room.name", ""), this.stateContent(pdu.roomId, "m.room.member", pdu.sender)]);
    if (typeof name?.["name"] === "string") out["room_name"] = name["name"];
    if (typeof senderName?.["displayname"] === "string") out["sender_display_name"] = senderName["displayname"];
    if (pdu.type === "m.room.member" && pdu.stateKey !== undefined) {
      out["user_is_target"] = pdu.stateKey === p.userId;
      if (typeof pdu.content["membership"] === "string") out["membership"] = pdu.content["membership"];
    }
    return out;
  }

  private async stateContent(roomId: RoomId, type: string, stateKey: string): Promise<Pdu["content"] | null> {
    const id = await this.deps.storage.rooms.getCurrentStateEventId(roomId, type, stateKey);
    if (!id) return null;
    return (await this.deps.storage.events.getPdus([id])).get(id)?.content ?? null;
  }

  /** counts.unread: the user's unread notifications over their joined rooms. */
  private async unreadTotal(userId: UserId): Promise<number> {
    const { storage } = this.deps;
    const to = await storage.events.maxStreamOrdering();
    let total = 0;
    for (const roomId of await storage.rooms.getRoomsForUser(userId, "join")) total += (await unreadCounts(storage, roomId, userId, to, false)).room.notification_count;
    return total;
  }
}
