/** matrix-js-sdk's request-by-request debug lines would drown the test output; warnings and errors still show. */
import type { Logger } from "matrix-js-sdk/lib/logger.js";
// Its users use the SDK: keep its per-request timers from holding the process open after the last test.
import "./sdk-quiet.js";

export const quietLogger: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (...msg: unknown[]) => console.warn("matrix-js-sdk:", ...msg),
  error: (...msg: unknown[]) => console.error("matrix-js-sdk:", ...msg),
  getChild: () => quietLogger,
};
