/** A device as the client API shows it: https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3devices */
import type { DeviceRecord } from "../../../storage/ports.js";

export function deviceJson(d: DeviceRecord): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = { device_id: d.deviceId, display_name: d.displayName };
  if (d.lastSeenIp !== null) out["last_seen_ip"] = d.lastSeenIp;
  if (d.lastSeenTs !== null) out["last_seen_ts"] = d.lastSeenTs;
  return out;
}

/** Device ids in paths and bodies: non-empty, at most 255 characters. */
export const MAX_DEVICE_ID_LENGTH = 255;
