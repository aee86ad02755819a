/** Presence (https://spec.matrix.org/v1.16/client-server-api/#presence): local users only, persisted (migration 0006). */
import type { PresenceRecord } from "../storage/ports.js";

export const PRESENCE_STATES = ["online", "unavailable", "offline"] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

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
