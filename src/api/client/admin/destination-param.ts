/** The {destination} path parameter of the admin federation endpoints. */
import { z } from "zod";

export const DestinationParams = z.object({ destination: z.string().min(1).max(255) });
export const PageQuery = z.looseObject({ from: z.string().optional(), limit: z.string().optional(), dir: z.string().optional() });
