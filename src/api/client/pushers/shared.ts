/**
 * Pushers (https://spec.matrix.org/v1.13/client-server-api/#push-notifications): where a user's devices want push
 * notifications delivered. Zion accepts kind `http` only: it has no email, so kind `email` is refused.
 */
import type { PusherRecord, PusherStore } from "../../../storage/ports.js";
import type { Clock } from "../../../core/clock.js";

export interface PusherDeps {
  readonly pushers: PusherStore;
  readonly clock: Clock;
}

/** The spec's limits: app_id at most 64 characters, pushkey at most 512 bytes. */
export const APP_ID_MAX_CHARS = 64;
export const PUSHKEY_MAX_BYTES = 512;
/** The path every http pusher's data.url must have (spec: PusherData.url). */
export const NOTIFY_PATH = "/_matrix/push/v1/notify";

/** A pusher as GET /pushers lists it. */
export function pusherJson(p: PusherRecord): Record<string, unknown> {
  return {
    app_display_name: p.appDisplayName,
    app_id: p.appId,
    data: p.data,
    device_display_name: p.deviceDisplayName,
    kind: p.kind,
    lang: p.lang,
    ...(p.profileTag === null ? {} : { profile_tag: p.profileTag }),
    pushkey: p.pushkey,
  };
}
