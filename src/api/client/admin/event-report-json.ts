/**
 * Synapse's admin API shape of an event report (https://element-hq.github.io/synapse/latest/admin_api/event_reports.html):
 * id, received_ts, room_id, name (the room's name now), event_id, user_id (the reporter), reason, score, sender
 * (the reported event's), canonical_alias; the single-report form adds event_json.
 */
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { EventReportRecord, EventStore, RoomStore } from "../../../storage/ports.js";

export interface EventReportDeps {
  readonly roomStore: Pick<RoomStore, "getCurrentStateEventId">;
  readonly events: Pick<EventStore, "getPdus">;
}

export async function eventReportJson(deps: EventReportDeps, r: EventReportRecord, withEvent = false): Promise<JsonObject> {
  const [nameId, aliasId] = await Promise.all([
    deps.roomStore.getCurrentStateEventId(r.roomId, "m.room.name", ""),
    deps.roomStore.getCurrentStateEventId(r.roomId, "m.room.canonical_alias", ""),
  ]);
  const pdus = await deps.events.getPdus([r.eventId, ...(nameId ? [nameId] : []), ...(aliasId ? [aliasId] : [])]);
  const text = (id: string | null, key: string) => {
    const v = id ? pdus.get(id as never)?.content[key] : undefined;
    return typeof v === "string" ? v : null;
  };
  const event = pdus.get(r.eventId);
  const out: Record<string, unknown> = {
    id: r.id, received_ts: r.receivedTs, room_id: r.roomId, name: text(nameId, "name"), event_id: r.eventId,
    user_id: r.userId, reason: r.reason, score: r.score, sender: event?.sender ?? null, canonical_alias: text(aliasId, "alias"),
  };
  if (withEvent) out["event_json"] = (event?.raw ?? null) as unknown;
  return out as JsonObject;
}

/** The report id of the path: a positive integer (400 M_INVALID_PARAM otherwise), and a stored report (404). */
export function reportIdParam(raw: string): number {
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw MatrixError.invalidParam("report_id", "must be a positive integer");
  return Number(raw);
}
