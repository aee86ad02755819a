/**
 * Bounds for fast-check property tests, so none can become a CI-time risk.
 *
 * A run is cheap (a sign, a hash, a parse), so the cases themselves take well under the limit; what once took
 * 67 s on a loaded machine was fast-check shrinking a counterexample without limit. A synchronous `fc.assert`
 * cannot be stopped by node:test's timeout, so fast-check bounds itself:
 * - `bounded(arb)`: shrinking stops after MAX_SHRINKS steps (the counterexample found so far is still reported);
 * - `PROPERTY_LIMITS`: a property that cannot finish all its cases within 20 s fails instead of passing on fewer
 *   cases, so the strength of a test never drops silently.
 */
import fc from "fast-check";

export const MAX_SHRINKS = 200;

export const PROPERTY_LIMITS = { interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true } as const;

/** The arbitrary with its shrinking capped at MAX_SHRINKS steps. */
export function bounded<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.limitShrink(arb, MAX_SHRINKS);
}
