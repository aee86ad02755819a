/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3thirdpartyuser: `userid` is required; nothing is found (thirdparty-lookup.ts). */
import { reverseLookup } from "./thirdparty-lookup.js";

export const getThirdPartyUserById = reverseLookup("user", "userid");
