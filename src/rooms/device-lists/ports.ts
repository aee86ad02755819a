/**
 * What the end-to-end encryption federation work (src/rooms/device-lists) is handed; app/ wires the real parts
 * (storage, the federation sender and client, the /sync notifier).
 */
import type { Clock } from "../../core/clock.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { FederationClient } from "../../federation/transport/client.js";
import type { Storage } from "../../storage/ports.js";

export type DeviceListStorage = Pick<Storage, "e2ee" | "users" | "deviceFederation" | "rooms" | "roomClient" | "toDevice">;

/** The /sync notifier's per-user side (src/sync Notifier). */
export interface UserStreamNotifier {
  notifyUser(stream: "deviceLists" | "toDevice", userId: UserId, position: number): void;
}

/** The federation sender's EDU queue (src/federation/sender). */
export interface EduQueue {
  enqueueEdu(destinations: readonly ServerName[], edu: JsonObject, opts?: { persistent?: boolean }): Promise<void>;
}

export type DeviceListClient = Pick<FederationClient, "getUserDevices" | "queryUserKeys" | "claimUserKeys">;

export interface DeviceListLog {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface DeviceListDeps {
  readonly serverName: ServerName;
  readonly storage: DeviceListStorage;
  readonly sender: EduQueue;
  readonly client: DeviceListClient;
  readonly notifier: UserStreamNotifier;
  readonly clock: Clock;
  readonly log: DeviceListLog;
}

/** Bounds on what a remote server can make us do or store. */
export const LIMITS = {
  /** Devices kept from one /user/devices answer or one user's /user/keys/query answer. */
  maxDevicesPerUser: 1000,
  /** Bytes read from one /user/devices answer. */
  maxResyncResponseBytes: 4 * 1024 * 1024,
  /** Bytes read from one /user/keys/query or /user/keys/claim answer. */
  maxKeysResponseBytes: 8 * 1024 * 1024,
  /** Resyncs running at once, and waiting beyond them (more are dropped until the queue drains). */
  resyncConcurrency: 4,
  resyncQueue: 1000,
  /** A resync of one user at most this often. */
  resyncMinIntervalMs: 5_000,
  resyncTimeoutMs: 10_000,
  /** Servers asked at once by one client /keys/query or /keys/claim. */
  serverConcurrency: 20,
  /** prev_id entries read from one m.device_list_update. */
  maxPrevIds: 100,
  /** Bytes of the messages of one outbound m.direct_to_device EDU (larger requests are split, each with its own message_id). */
  maxToDeviceEduBytes: 60 * 1024,
  /** Messages (user, device) delivered from one inbound m.direct_to_device EDU. */
  maxToDeviceMessages: 10_000,
  /**
   * How long an inbound m.direct_to_device (origin, message_id) is remembered against repeats. A sender resends an
   * EDU only while retrying its transaction, within hours; a week bounds the table without letting a repeat in.
   */
  toDeviceIdRetentionMs: 7 * 24 * 3600 * 1000,
} as const;
