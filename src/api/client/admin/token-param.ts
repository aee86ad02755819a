/** The {token} path parameter of the registration-token endpoints. */
import { z } from "zod";

export const TokenParams = z.object({ token: z.string().max(64) });
