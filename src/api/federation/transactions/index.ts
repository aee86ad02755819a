/** Inbound transactions. This file only lists routes. */
import { sendTransaction } from "./send-transaction.js";

export type { SendTransactionDeps } from "./send-transaction.js";
export { MAX_TXN_PDUS, MAX_TXN_EDUS } from "./send-transaction.js";
export const transactionRoutes = [sendTransaction];
