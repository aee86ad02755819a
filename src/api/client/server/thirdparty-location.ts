/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3thirdpartylocationprotocol: no protocol is known here (thirdparty-lookup.ts). */
import { protocolLookup } from "./thirdparty-lookup.js";

export const getThirdPartyLocation = protocolLookup("location");
