/** Federation reads of room state. This file only lists routes. */
import { getEventAuth } from "./event-auth.js";
import { getState, getStateIds } from "./state-ids.js";

export const stateRoutes = [getState, getStateIds, getEventAuth];
