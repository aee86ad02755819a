/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3thirdpartyprotocolprotocol: no protocol is known here (thirdparty-lookup.ts). */
import { protocolLookup } from "./thirdparty-lookup.js";

export const getThirdPartyProtocol = protocolLookup("protocol");
