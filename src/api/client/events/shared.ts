/** What the event routes share: the txn id and event type parameters, /messages tokens, loading visible events. */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { Pdu } from "../../../core/events/index.js";
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { RoomPosition, StoredEvent } from "../../../storage/ports.js";
import type { RoomDeps } from "../deps.js";

/** Event types and txn ids are bounded like ids (255 bytes), as Synapse bounds them. */
export const EventType = z.string().min(1).max(255);
export const TxnId = z.string().min(1).max(255);
/** Event content: any JSON object (the body came from JSON, so its values are JSON; the PDU checks do the rest). */
export const EventContent = z.looseObject({}).transform((o) => o as JsonObject);

/**
 * /messages tokens: a position in the room's topological order, `t<depth>_<stream>` (stream orderings of
 * backfilled events are negative). Positions lie between events, so paging from one excludes the event at it.
 */
export function positionToken(p: RoomPosition): string {
  return `t${p.depth}_${p.stream}`;
}

export function parsePositionToken(raw: string, field: string): RoomPosition {
  const m = /^t(\d{1,16})_(-?\d{1,16})$/.exec(raw);
  if (!m) throw MatrixError.invalidParam(field, "is not a token this server issued");
  return { depth: Number(m[1]), stream: Number(m[2]) };
}

/** The position just after the newest (or before the oldest) possible event. */
export const END_OF_ROOM: RoomPosition = { depth: Number.MAX_SAFE_INTEGER, stream: Number.MAX_SAFE_INTEGER };
export const START_OF_ROOM: RoomPosition = { depth: 0, stream: Number.MIN_SAFE_INTEGER };

/** A stored event clients may be shown in this room: a timeline event of it, not rejected or soft-failed. */
export function timelineEventOf(stored: StoredEvent | undefined, roomId: RoomId): Pdu | undefined {
  return stored && !stored.outlier && stored.rejectionReason === null && !stored.softFailed && stored.pdu.roomId === roomId ? stored.pdu : undefined;
}

/** One event of the room by id, if the user may see it (otherwise 404 M_NOT_FOUND, as if unknown). */
export async function visibleEvent(deps: Pick<RoomDeps, "events" | "roomReads">, roomId: RoomId, userId: UserId, eventId: EventId): Promise<Pdu> {
  const pdu = timelineEventOf((await deps.events.getEvents([eventId])).get(eventId), roomId);
  if (!pdu || (await deps.roomReads.visibleTo(userId, roomId, [pdu])).length === 0) throw MatrixError.notFound(`event ${eventId} not found in ${roomId}`);
  return pdu;
}

/** The client form of state events. */
export async function clientState(deps: Pick<RoomDeps, "events" | "roomReads" | "clock">, ids: Iterable<EventId>): Promise<JsonObject[]> {
  const pdus = await deps.events.getPdus([...ids]);
  return deps.roomReads.clientEvents([...pdus.values()], deps.clock.now());
}
