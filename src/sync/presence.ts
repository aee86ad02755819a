/**
 * Presence (https://spec.matrix.org/v1.16/client-server-api/#presence): persisted (migration 0006), local users'
 * kept by PresenceTracker (presence-tracker.ts), remote users' as their servers send it (src/sync/edus).
 *
 * The pure rules (docs/sync.md, "Presence"), after Synapse's presence handler:
 * - A syncing client's `set_presence` (absent: online, the spec's default) sets the state; `offline` leaves
 *   presence as it is. A sync keeps the status message, and a sync's online replaces an explicit unavailable
 *   (the spec and Synapse: only Synapse's unstable busy, which Zion does not take, survives a sync).
 * - Online (a sync's or PUT's) makes now the last activity; unavailable keeps the last activity there was.
 * - A change is told (stream position, waiting syncs, federation) only when it is significant: the state or the
 *   status message changed, or, for a user not online, the last activity moved on by more than
 *   LAST_ACTIVE_GRANULARITY_MS (Synapse's should_notify). Otherwise only the last activity is kept, at most once a
 *   LAST_ACTIVE_GRANULARITY_MS, and no one is woken.
 * - A local user who is not offline goes offline SYNC_ONLINE_TIMEOUT_MS after their last sync ended (or their last
 *   activity, if later) with no sync under way.
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

/** What a sync asking for `state` (online or unavailable) makes of `prev`. */
export function syncedPresence(prev: PresenceRecord | null, state: "online" | "unavailable", nowTs: number): PresenceValue {
  return { state, statusMsg: prev?.statusMsg ?? null, lastActiveTs: state === "online" ? nowTs : (prev?.lastActiveTs ?? nowTs) };
}

/** What PUT /presence makes of `prev`: its state, and its status message (absent: the stored one is kept). */
export function explicitPresence(prev: PresenceRecord | null, state: PresenceState, statusMsg: string | null | undefined, nowTs: number): PresenceValue {
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
