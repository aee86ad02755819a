/** What the /user federation routes (devices, keys) use. */
import type { ServerName } from "../../../core/ids/index.js";
import type { DeviceFederationStore, E2eeStore, UserStore } from "../../../storage/ports.js";

export interface UserKeysDeps {
  readonly serverName: ServerName;
  readonly e2ee: Pick<E2eeStore, "getDeviceKeys" | "getCrossSigningKeys" | "claimKeys">;
  readonly users: Pick<UserStore, "getDevices" | "getUser">;
  readonly deviceFederation: Pick<DeviceFederationStore, "outboundStreamId">;
}
