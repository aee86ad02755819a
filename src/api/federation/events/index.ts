/** Federation reads of room events. This file only lists routes. */
import { backfill } from "./backfill.js";
import { getEvent } from "./event.js";
import { getMissingEvents } from "./get-missing-events.js";
import { timestampToEvent } from "./timestamp-to-event.js";

export type { RoomReadDeps, RoomReadStores } from "./access.js";
export const eventRoutes = [getEvent, backfill, getMissingEvents, timestampToEvent];
