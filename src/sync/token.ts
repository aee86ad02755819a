/**
 * The composite since-token of /sync (and later of sliding sync's `pos`): one position per stream, serialised as
 * an opaque string `s<events>_<accountData>_<toDevice>_<deviceLists>_<typing>_<receipts>_<presence>` (in the
 * manner of Synapse's `s123_4_5...`). `events` is the storage's committed stream ordering, which also orders the
 * current-state and membership streams (docs/storage.md); the others are the positions of their own streams.
 * Every stream but typing is persisted, so a token survives a restart; typing restarts from 0, and a token whose
 * typing position is ahead of the server's is treated as "before everything" (docs/sync.md).
 */
import { MatrixError } from "../core/errors.js";

export const STREAMS = ["events", "accountData", "toDevice", "deviceLists", "typing", "receipts", "presence"] as const;
export type StreamName = (typeof STREAMS)[number];

export type StreamToken = { readonly [K in StreamName]: number };

export const ZERO_TOKEN: StreamToken = Object.freeze(Object.fromEntries(STREAMS.map((s) => [s, 0])) as StreamToken);

/** Largest position a token may carry (2^53 - 1: every position is a safe integer). */
const MAX_DIGITS = 16;
const TOKEN = new RegExp(`^s(\\d{1,${MAX_DIGITS}})((?:_\\d{1,${MAX_DIGITS}}){${STREAMS.length - 1}})$`);

export function serializeToken(t: StreamToken): string {
  return `s${STREAMS.map((s) => t[s]).join("_")}`;
}

/**
 * Parses a token this server issued; anything else is 400 M_INVALID_PARAM naming `field` (Synapse answers 400 for
 * an unparsable `since` too). Leading zeros and unsafe integers are refused so one position has one spelling.
 */
export function parseToken(raw: string, field = "since"): StreamToken {
  const m = TOKEN.exec(raw);
  if (!m) throw MatrixError.invalidParam(field, "is not a sync token this server issued");
  const parts = [m[1]!, ...m[2]!.slice(1).split("_")];
  const out: Record<string, number> = {};
  STREAMS.forEach((s, i) => {
    const p = parts[i]!;
    const n = Number(p);
    if ((p.length > 1 && p.startsWith("0")) || !Number.isSafeInteger(n)) throw MatrixError.invalidParam(field, "is not a sync token this server issued");
    out[s] = n;
  });
  return out as StreamToken;
}

/** Whether `b` holds anything `a` does not (some stream is further on). */
export function isAfter(b: StreamToken, a: StreamToken): boolean {
  return STREAMS.some((s) => b[s] > a[s]);
}

/** Per stream, the larger position. */
export function maxToken(a: StreamToken, b: StreamToken): StreamToken {
  return Object.fromEntries(STREAMS.map((s) => [s, Math.max(a[s], b[s])])) as StreamToken;
}
