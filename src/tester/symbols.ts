/** The marks every CLI report uses for a check or step: ✓ ok, ⚠ warning, ✗ failure, – not run or did not apply. */
export const SYMBOL = { ok: "✓", warn: "⚠", fail: "✗", skip: "–" } as const;
