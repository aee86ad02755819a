/** Federation query endpoints. This file only lists routes. */
import { queryProfile } from "./profile.js";

export type { ProfileDeps } from "./profile.js";
export const queryRoutes = [queryProfile];
