/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3thirdpartylocation: `alias` is required; nothing is found (thirdparty-lookup.ts). */
import { reverseLookup } from "./thirdparty-lookup.js";

export const getThirdPartyLocationByAlias = reverseLookup("location", "alias");
