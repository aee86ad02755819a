/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3thirdpartyuserprotocol: no protocol is known here (thirdparty-lookup.ts). */
import { protocolLookup } from "./thirdparty-lookup.js";

export const getThirdPartyUser = protocolLookup("user");
