/**
 * Resynchronising a remote user's device list: https://spec.matrix.org/v1.16/server-server-api/#device-management
 * ("If a server receives an EDU which refers to a prev_id it does not recognise, it must resynchronise its list").
 *
 * 1. request(userId) never waits for the network and never throws: the resync runs in the background.
 * 2. Bounded: one resync per user at a time (later requests join it), at most one per user per
 *    LIMITS.resyncMinIntervalMs (a request sooner runs once that time is up), LIMITS.resyncConcurrency at once, LIMITS.resyncQueue waiting (beyond that a request
 *    is dropped; the list stays stale, so key queries keep asking the user's server).
 * 3. GET /user/devices/{userId} on the user's own server with a timeout and a response cap; the answer replaces
 *    the cached list (devices, master and self-signing keys, stream_id) in one transaction, keeping at most
 *    LIMITS.maxDevicesPerUser devices and only keys that name the user (and device) they are for.
 * 4. The local users sharing a room with the user are woken: their next sync lists the user in device_lists.changed.
 */
import { serverOfUserId, type UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { RemoteDevice } from "../../storage/ports.js";
import { LIMITS, type DeviceListDeps } from "./ports.js";

/** The key object when it is an object naming this user (and device, for device keys); else null. */
export function keyFor(v: unknown, userId: UserId, deviceId?: string): JsonObject | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const o = v as JsonObject;
  if (o["user_id"] !== userId) return null;
  if (deviceId !== undefined && o["device_id"] !== deviceId) return null;
  return o;
}

export class DeviceListResync {
  private readonly running = new Map<UserId, Promise<void>>();
  private readonly waiting: UserId[] = [];
  private readonly lastStarted = new Map<UserId, number>();
  private readonly deferred = new Set<UserId>();
  private active = 0;
  /** Resyncs completed (tests and metrics). */
  done = 0;

  constructor(private readonly deps: DeviceListDeps, private readonly woken: (userId: UserId) => Promise<void>) {}

  /** Step 1-2. */
  request(userId: UserId): void {
    if (this.running.has(userId) || this.waiting.includes(userId)) return;
    const last = this.lastStarted.get(userId);
    const wait = last === undefined ? 0 : last + LIMITS.resyncMinIntervalMs - this.deps.clock.now();
    if (wait > 0) {
      // Too soon after the last one: once, later (a second request meanwhile joins this one).
      if (this.deferred.has(userId)) return;
      this.deferred.add(userId);
      void this.deps.clock.sleep(wait).then(() => {
        this.deferred.delete(userId);
        this.enqueue(userId);
      });
      return;
    }
    this.enqueue(userId);
  }

  private enqueue(userId: UserId): void {
    if (this.running.has(userId) || this.waiting.includes(userId)) return;
    if (this.waiting.length >= LIMITS.resyncQueue) {
      this.deps.log.warn({ user_id: userId }, "device-list resync queue full; the list stays stale");
      return;
    }
    this.waiting.push(userId);
    this.pump();
  }

  /** Resolves once nothing is running or waiting (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.waiting.length > 0) await Promise.all([...this.running.values()]);
  }

  private pump(): void {
    while (this.active < LIMITS.resyncConcurrency && this.waiting.length > 0) {
      const userId = this.waiting.shift()!;
      this.active++;
      this.lastStarted.set(userId, this.deps.clock.now());
      if (this.lastStarted.size > 10_000) this.lastStarted.delete(this.lastStarted.keys().next().value!);
      const p = this.resync(userId)
        .catch((e: unknown) => this.deps.log.info({ user_id: userId, err: String(e) }, "device-list resync failed; the list stays stale"))
        .finally(() => {
          this.active--;
          this.running.delete(userId);
          this.done++;
          this.pump();
        });
      this.running.set(userId, p);
    }
  }

  /** Step 3-4. */
  private async resync(userId: UserId): Promise<void> {
    const { client, storage, clock } = this.deps;
    const answer = await client.getUserDevices(serverOfUserId(userId), userId, { timeoutMs: LIMITS.resyncTimeoutMs, maxResponseBytes: LIMITS.maxResyncResponseBytes });
    const devices: RemoteDevice[] = [];
    const seen = new Set<string>();
    for (const d of answer.devices) {
      const deviceId = d["device_id"] as string;
      if (deviceId.length > 255 || seen.has(deviceId)) continue;
      if (devices.length >= LIMITS.maxDevicesPerUser) break;
      seen.add(deviceId);
      const name = d["device_display_name"];
      devices.push({ deviceId, displayName: typeof name === "string" && name.length <= 255 ? name : null, keys: keyFor(d["keys"], userId, deviceId) });
    }
    await storage.deviceFederation.replaceRemoteDeviceList(
      { userId, streamId: answer.streamId, devices, masterKey: keyFor(answer.masterKey, userId), selfSigningKey: keyFor(answer.selfSigningKey, userId) },
      clock.now(),
    );
    await this.woken(userId);
  }
}
