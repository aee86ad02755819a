/**
 * For tests of bad input: runs `f` and returns the MatrixError it throws,
 * failing if it returns or throws anything else. (Kept free of node:assert,
 * which the pure core may not import.)
 */
import { MatrixError } from "./errors.js";

export function thrownMatrixError(f: () => unknown): MatrixError {
  try {
    f();
  } catch (e) {
    if (e instanceof MatrixError) return e;
    throw new Error(`expected a MatrixError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a MatrixError, but nothing was thrown");
}
