/**
 * A PDU that breaks the event format of its room version. It is a
 * MatrixError (M_BAD_JSON, or M_TOO_LARGE for the size limit) whose message
 * starts with the field, e.g. "sender: must start with '@'".
 */
import { MatrixError, type Errcode } from "../errors.js";

export class PduFormatError extends MatrixError {
  constructor(
    readonly field: string,
    readonly reason: string,
    errcode: Errcode = "M_BAD_JSON",
  ) {
    super(errcode, errcode === "M_TOO_LARGE" ? 413 : 400, `${field}: ${reason}`);
    this.name = "PduFormatError";
  }
}
