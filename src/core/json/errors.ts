/**
 * The typed error of the JSON layer. It is a MatrixError, so the HTTP layer
 * renders it as it stands: M_NOT_JSON for text that is not JSON at all,
 * M_BAD_JSON for JSON that breaks a canonical-JSON rule, M_TOO_LARGE for a
 * size limit. `path` names where in the value the problem is ("content.body",
 * "prev_events[3]"), `reason` is the bare rule that was broken.
 */
import { MatrixError, type Errcode } from "../errors.js";

export type JsonPath = readonly (string | number)[];

export function formatJsonPath(path: JsonPath): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(p) && !p.includes(".")) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || "(top level)";
}

export class CanonicalJsonError extends MatrixError {
  constructor(
    readonly reason: string,
    readonly path: JsonPath = [],
    errcode: Errcode = "M_BAD_JSON",
    status = errcode === "M_TOO_LARGE" ? 413 : 400,
  ) {
    super(errcode, status, path.length ? `${formatJsonPath(path)}: ${reason}` : reason);
    this.name = "CanonicalJsonError";
  }
}
