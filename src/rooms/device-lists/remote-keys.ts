/**
 * A local client's /keys/query and /keys/claim for users of other servers.
 * https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3keysquery and #post_matrixclientv3keysclaim
 *
 * query:
 * 1. A user whose device list is tracked (cached by a resync and kept up to date by m.device_list_update), not
 *    stale, and who still shares a room with a local user is answered from the cache: the devices asked for (all
 *    for an empty list) that have keys, with the display name in unsigned.device_display_name, and the master and
 *    self-signing keys.
 * 2. The others are asked of their server with POST /user/keys/query, one request per server, at most
 *    LIMITS.serverConcurrency servers at once, each within the request's timeout. Only the users (and devices)
 *    asked about are taken from an answer, and only keys naming the user (and device) they are for.
 * 3. A server that fails or does not answer in time goes into `failures` under its name; the others still answer.
 * 4. Users asked about in step 2 who share a room with a local user are resynced in the background, so the next
 *    query is answered from the cache.
 * claim: one POST /user/keys/claim per server (one-time keys are never cached), steps 2-3 alike.
 */
import { serverOfUserId, type ServerName, type UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { FederationError } from "../../federation/transport/client.js";
import type { RemoteDeviceList } from "../../storage/ports.js";
import type { RoomAudience } from "./audience.js";
import { keyFor, type DeviceListResync } from "./resync.js";
import { LIMITS, type DeviceListDeps } from "./ports.js";

export interface RemoteKeysAnswer {
  readonly deviceKeys: Record<string, Record<string, JsonObject>>;
  readonly masterKeys: Record<string, JsonObject>;
  readonly selfSigningKeys: Record<string, JsonObject>;
  readonly failures: Record<string, JsonObject>;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** The `failures` entry for a server that did not answer. */
function failureOf(e: unknown): JsonObject {
  if (e instanceof FederationError) return { status: e.status ?? 503, message: e.message };
  return { status: 503, message: String(e) };
}

/** Runs `work` for each item, at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

function groupByServer<V>(entries: Iterable<[UserId, V]>): Map<ServerName, [UserId, V][]> {
  const out = new Map<ServerName, [UserId, V][]>();
  for (const e of entries) {
    const s = serverOfUserId(e[0]);
    const l = out.get(s) ?? [];
    l.push(e);
    out.set(s, l);
  }
  return out;
}

function fromCache(list: RemoteDeviceList, deviceIds: readonly string[], out: RemoteKeysAnswer): void {
  const wanted = deviceIds.length === 0 ? null : new Set(deviceIds);
  const devices: Record<string, JsonObject> = {};
  for (const d of list.devices) {
    if (!d.keys || (wanted && !wanted.has(d.deviceId))) continue;
    const unsigned = isObject(d.keys["unsigned"]) ? d.keys["unsigned"] : {};
    devices[d.deviceId] = d.displayName ? { ...d.keys, unsigned: { ...unsigned, device_display_name: d.displayName } } : d.keys;
  }
  out.deviceKeys[list.userId] = devices;
  if (list.masterKey) out.masterKeys[list.userId] = list.masterKey;
  if (list.selfSigningKey) out.selfSigningKeys[list.userId] = list.selfSigningKey;
}

export class RemoteKeys {
  constructor(private readonly deps: DeviceListDeps, private readonly audience: RoomAudience, private readonly resync: DeviceListResync) {}

  async query(requested: ReadonlyMap<UserId, readonly string[]>, timeoutMs: number): Promise<RemoteKeysAnswer> {
    const out: RemoteKeysAnswer = { deviceKeys: {}, masterKeys: {}, selfSigningKeys: {}, failures: {} };
    const cached = await this.deps.storage.deviceFederation.getRemoteDeviceLists([...requested.keys()]);
    const ask: [UserId, readonly string[]][] = [];
    for (const [userId, deviceIds] of requested) {
      const list = cached.get(userId);
      if (list && !list.stale && (await this.audience.sharesRoomWithLocalUser(userId))) fromCache(list, deviceIds, out); // step 1
      else ask.push([userId, deviceIds]);
    }
    const servers = [...groupByServer(ask)];
    await pool(servers, LIMITS.serverConcurrency, async ([server, users]) => { // step 2
      try {
        const answer = await this.deps.client.queryUserKeys(server, Object.fromEntries(users), { timeoutMs, maxResponseBytes: LIMITS.maxKeysResponseBytes });
        for (const [userId, deviceIds] of users) {
          const wanted = deviceIds.length === 0 ? null : new Set(deviceIds);
          const got = answer.deviceKeys[userId];
          const devices: Record<string, JsonObject> = {};
          if (isObject(got)) {
            for (const [deviceId, k] of Object.entries(got).slice(0, LIMITS.maxDevicesPerUser)) {
              const key = keyFor(k, userId, deviceId);
              if (key && (!wanted || wanted.has(deviceId))) devices[deviceId] = key;
            }
          }
          out.deviceKeys[userId] = devices;
          const master = keyFor(answer.masterKeys[userId], userId);
          const selfSigning = keyFor(answer.selfSigningKeys[userId], userId);
          if (master) out.masterKeys[userId] = master;
          if (selfSigning) out.selfSigningKeys[userId] = selfSigning;
        }
      } catch (e) {
        out.failures[server] = failureOf(e); // step 3
        return;
      }
      for (const [userId] of users) if (await this.audience.sharesRoomWithLocalUser(userId)) this.resync.request(userId); // step 4
    });
    return out;
  }

  async claim(requested: ReadonlyMap<UserId, Readonly<Record<string, string>>>, timeoutMs: number): Promise<{ oneTimeKeys: Record<string, Record<string, JsonObject>>; failures: Record<string, JsonObject> }> {
    const oneTimeKeys: Record<string, Record<string, JsonObject>> = {};
    const failures: Record<string, JsonObject> = {};
    await pool([...groupByServer(requested)], LIMITS.serverConcurrency, async ([server, users]) => {
      try {
        const answer = await this.deps.client.claimUserKeys(server, Object.fromEntries(users), { timeoutMs, maxResponseBytes: LIMITS.maxKeysResponseBytes });
        for (const [userId, devices] of users) {
          const got = answer.oneTimeKeys[userId];
          if (!isObject(got)) continue;
          const mine: Record<string, JsonObject> = {};
          for (const deviceId of Object.keys(devices)) if (isObject(got[deviceId])) mine[deviceId] = got[deviceId];
          if (Object.keys(mine).length > 0) oneTimeKeys[userId] = mine;
        }
      } catch (e) {
        failures[server] = failureOf(e);
      }
    });
    return { oneTimeKeys, failures };
  }
}
