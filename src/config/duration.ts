/**
 * Synapse's duration and size notations, so an operator's values carry over.
 * Durations: a bare number is milliseconds; a string is an integer with an
 * optional suffix ms, s, m, h, d, w or y (a year is 365 days), e.g. "5m", "1d".
 * Sizes: a bare number is bytes; a string may end in K, M, G or T (powers of 1024).
 */
const MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

const SIZE: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export type Parsed = { ok: true; value: number } | { ok: false; reason: string };

export function parseDuration(raw: unknown): Parsed {
  if (typeof raw === "number") {
    if (!Number.isSafeInteger(raw) || raw < 0) return { ok: false, reason: `duration ${raw} must be a non-negative whole number of milliseconds` };
    return { ok: true, value: raw };
  }
  if (typeof raw !== "string") return { ok: false, reason: `expected a duration such as 5m or 1d, got ${describe(raw)}` };
  const m = /^\s*([0-9]+)\s*(ms|s|m|h|d|w|y)?\s*$/.exec(raw);
  if (!m) return { ok: false, reason: `${JSON.stringify(raw)} is not a duration: use a whole number with an optional suffix ms, s, m, h, d, w or y (e.g. 5m, 1d)` };
  const value = Number(m[1]) * MS[m[2] ?? "ms"]!;
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `duration ${JSON.stringify(raw)} is too large` };
  return { ok: true, value };
}

export function parseSize(raw: unknown): Parsed {
  if (typeof raw === "number") {
    if (!Number.isSafeInteger(raw) || raw < 0) return { ok: false, reason: `size ${raw} must be a non-negative whole number of bytes` };
    return { ok: true, value: raw };
  }
  if (typeof raw !== "string") return { ok: false, reason: `expected a size such as 50M, got ${describe(raw)}` };
  const m = /^\s*([0-9]+)\s*([KMGT])?\s*$/i.exec(raw);
  if (!m) return { ok: false, reason: `${JSON.stringify(raw)} is not a size: use a whole number with an optional suffix K, M, G or T (e.g. 50M)` };
  const value = Number(m[1]) * (m[2] ? SIZE[m[2].toUpperCase()]! : 1);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `size ${JSON.stringify(raw)} is too large` };
  return { ok: true, value };
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}
