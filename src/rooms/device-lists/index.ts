/**
 * End-to-end encryption across servers: device lists and keys of remote users, and to-device messages both ways
 * (docs/federation.md, "End-to-end encryption"). app/ builds one E2eeFederation, registers its EDU handlers and
 * tells it of every local device or key change.
 */
import type { EduHandler } from "../transaction-gate.js";
import { e2eeEduHandlers } from "./inbound.js";
import { DeviceListOutbound } from "./outbound.js";
import type { DeviceListDeps } from "./ports.js";
import { RemoteKeys } from "./remote-keys.js";
import { DeviceListResync } from "./resync.js";

export { RoomAudience } from "./audience.js";
export { LIMITS as E2EE_FEDERATION_LIMITS, type DeviceListDeps, type DeviceListClient, type EduQueue, type UserStreamNotifier } from "./ports.js";
export type { RemoteKeysAnswer } from "./remote-keys.js";

export class E2eeFederation {
  readonly outbound: DeviceListOutbound;
  readonly resync: DeviceListResync;
  readonly remoteKeys: RemoteKeys;
  readonly eduHandlers: readonly EduHandler[];

  constructor(deps: DeviceListDeps) {
    this.outbound = new DeviceListOutbound(deps);
    this.resync = new DeviceListResync(deps, (u) => this.outbound.wake(u));
    this.remoteKeys = new RemoteKeys(deps, this.outbound.audience, this.resync);
    this.eduHandlers = e2eeEduHandlers(deps, this.outbound, this.resync);
  }
}
