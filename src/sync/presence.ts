/**
 * Presence (https://spec.matrix.org/v1.16/client-server-api/#presence): persisted (migration 0006), local users'
 * kept by PresenceTracker (presence-tracker.ts), remote users' as their servers send it (src/sync/edus).
 *
 * The pure rules (docs/sync.md, "Presence"), after Synapse's presence handler:
 * - Per device, as Synapse: a syncing client's `set_presence` (absent: online, the spec's default) or PUT /presence
 *   sets its device's state; `set_presence=offline` leaves presence as it is. The user's state is the highest of
 *   their devices' (online, then unavailable, then offline). So a sync's online replaces an explicit unavailable
 *   (the spec and Synapse: only Synapse's unstable busy, which Zion does not take, survives a sync), and a phone
 *   syncing online keeps the user online while a desktop syncs with `set_presence=unavailable`, without the two
 *   turning the user's state back and forth.
 * - A sync keeps the status message; PUT sets it (absent: kept). Online makes now the last activity; another state
 *   keeps the last activity there was.
 * - A change is told (stream position, waiting syncs, federation) only when it is significant: the state or the
 *   status message changed, or, for a user not online, the last activity moved on by more than
 *   LAST_ACTIVE_GRANULARITY_MS (Synapse's should_notify). Otherwise only the last activity is kept, at most once a
 *   LAST_ACTIVE_GRANULARITY_MS, and no one is woken.
 * - A device with no sync under way stops counting SYNC_ONLINE_TIMEOUT_MS after its last sync ended (or its PUT);
 *   with none left, the user is offline.
 */
import { MatrixError } from "../core/errors.js";
import type { PresenceRecord } from "../storage/ports.js";

export const PRESENCE_STATES = ["online", "unavailable", "offline"] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

/** How long after the last sync (or activity) a local user goes offline (Synapse's sync_online_timeout default). */
export const SYNC_ONLINE_TIMEOUT_MS = 30_000;
/** Last-activity bumps closer together than this are not stored again, nor told (Synapse's last_active_granularity). */
export const LAST_ACTIVE_GRANULARITY_MS = 60_000;

/**
 * The `set_presence` of /sync and sliding sync, one parser for both: absent is online (the spec: "automatically
 * marked as online when it uses this API"; MSC4186 the same); another value is 400 M_INVALID_PARAM naming it.
 */
export function parseSetPresence(raw: unknown): PresenceState {
  if (raw === undefined) return "online";
  if (typeof raw !== "string" || !(PRESENCE_STATES as readonly string[]).includes(raw)) throw MatrixError.invalidParam("set_presence", "must be online, offline or unavailable");
  return raw as PresenceState;
}

/** A presence to store: what PresenceRecord holds but its position. */
export interface PresenceValue {
  readonly state: PresenceState;
  readonly statusMsg: string | null;
  readonly lastActiveTs: number;
}

/** A stored presence as a value (none stored: offline, never active). */
export function presenceValue(p: PresenceRecord | null): PresenceValue {
  if (!p) return { state: "offline", statusMsg: null, lastActiveTs: 0 };
  const state = (PRESENCE_STATES as readonly string[]).includes(p.state) ? (p.state as PresenceState) : "offline";
  return { state, statusMsg: p.statusMsg, lastActiveTs: p.lastActiveTs };
}

/** One device's presence (kept in memory): the state its syncs or PUT asked for, and when it last did. */
export interface DevicePresence {
  readonly state: PresenceState;
  /** The last sync's start or end, or PUT /presence. */
  readonly lastSeenTs: number;
}

const PRIORITY: Record<PresenceState, number> = { online: 3, unavailable: 2, offline: 1 };

/** A user's state from their devices' (Synapse's): online over unavailable over offline; none: offline. */
export function combinedState(devices: Iterable<DevicePresence>): PresenceState {
  let best: PresenceState = "offline";
  for (const d of devices) if (PRIORITY[d.state] > PRIORITY[best]) best = d.state;
  return best;
}

/** Whether a device with no sync under way has been quiet for SYNC_ONLINE_TIMEOUT_MS and no longer counts. */
export function deviceGone(d: DevicePresence, nowTs: number): boolean {
  return nowTs - d.lastSeenTs >= SYNC_ONLINE_TIMEOUT_MS;
}

/**
 * The user's presence once their devices' state is `state`: online makes now the last activity, another state keeps
 * the last activity there was; a sync keeps the status message (`statusMsg` undefined), PUT /presence sets it.
 */
export function nextPresence(prev: PresenceRecord | null, state: PresenceState, statusMsg: string | null | undefined, nowTs: number): PresenceValue {
  return { state, statusMsg: statusMsg === undefined ? (prev?.statusMsg ?? null) : statusMsg, lastActiveTs: state === "online" ? nowTs : (prev?.lastActiveTs ?? nowTs) };
}

/**
 * How a new presence relates to the stored one: `told` (store with a stream position, wake the syncs that see the
 * user, send to federation), `kept` (store the last activity only, tell no one) or `same` (nothing to write).
 */
export function presenceChange(prev: PresenceRecord | null, next: PresenceValue): "told" | "kept" | "same" {
  const old = presenceValue(prev);
  if (!prev && next.state === "offline" && next.statusMsg === null) return "same";
  if (old.state !== next.state || old.statusMsg !== next.statusMsg) return "told";
  const moved = next.lastActiveTs - old.lastActiveTs;
  if (moved > LAST_ACTIVE_GRANULARITY_MS) return next.state === "online" ? "kept" : "told";
  return "same";
}

/** The m.presence content of a stored presence (offline when none is stored). */
export function presenceContent(p: PresenceRecord | null, nowTs: number): Record<string, string | number | boolean> {
  if (!p) return { presence: "offline" };
  return {
    presence: p.state,
    last_active_ago: Math.max(0, nowTs - p.lastActiveTs),
    currently_active: p.state === "online",
    ...(p.statusMsg !== null ? { status_msg: p.statusMsg } : {}),
  };
}
