export type { Pdu, StateKey, StateMap } from "./pdu.js";
export { stateKeyOf, splitStateKey } from "./pdu.js";
export { PduFormatError } from "./errors.js";
export { redactEvent } from "./redact.js";
export {
  contentHash,
  contentHashBytes,
  referenceHash,
  redactedSignedBytes,
  redactedSignedText,
  computeEventId,
  measureEvent,
  eventIdFromReferenceHash,
  roomIdFromCreateEventId,
  roomIdOfCreateEvent,
} from "./hashes.js";
export { parsePdu, tryParsePdu, MAX_PDU_BYTES, MAX_ID_BYTES, MAX_PREV_EVENTS, MAX_AUTH_EVENTS } from "./parse.js";
export type { ParsePduOptions } from "./parse.js";
export { buildPdu, signEvent, hashAndSignEvent } from "./build.js";
export type { PduTemplate, PduSigner, EventRef } from "./build.js";
export { checkPdu, verifyEventsBatch, verifyEventsPausable, VERIFY_PAUSE_EVERY, requiredSignatureServers, keysNeeded } from "./check.js";
export type { PduVerdict, PduCheckFailure, PduCheckName, PduToCheck } from "./check.js";
