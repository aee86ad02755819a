/** The {userId} path parameter of the admin user endpoints. */
import { z } from "zod";

export const UserParams = z.object({ userId: z.string().max(255) });
