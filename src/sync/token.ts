/**
 * The composite since-token of /sync (and later of sliding sync's `pos`): one position per stream, written as
 * `_`-joined segments of a stream letter and a decimal position (docs/client-api.md, "Streams and sync tokens"):
 * `s120_a4_t31_d7_y2_r5_p1`. Letters: `s` events (the storage's committed stream ordering, which also orders the
 * current-state and membership streams, docs/storage.md), `a` account data, `t` to-device, `d` device lists
 * (those three as /keys/changes reads them), `y` typing, `r` receipts, `p` presence. A missing segment is 0.
 * Every stream but typing is persisted, so a token survives a restart; typing restarts from 0, and a token whose
 * typing position is ahead of the server's is treated as "before everything" (docs/sync.md).
 */
import { MatrixError } from "../core/errors.js";

export const STREAMS = ["events", "accountData", "toDevice", "deviceLists", "typing", "receipts", "presence"] as const;
export type StreamName = (typeof STREAMS)[number];

export type StreamToken = { readonly [K in StreamName]: number };

export const ZERO_TOKEN: StreamToken = Object.freeze(Object.fromEntries(STREAMS.map((s) => [s, 0])) as StreamToken);

/** Each stream's letter, in the order tokens are written. */
export const STREAM_LETTERS: Readonly<Record<StreamName, string>> = { events: "s", accountData: "a", toDevice: "t", deviceLists: "d", typing: "y", receipts: "r", presence: "p" };
const BY_LETTER = new Map(STREAMS.map((s) => [STREAM_LETTERS[s], s]));
/** A letter and a position without leading zeros, at most 16 digits (a safe integer is checked after). */
const SEGMENT = /^([a-z])(0|[1-9][0-9]{0,15})$/;
const MAX_TOKEN = 512;

export function serializeToken(t: StreamToken): string {
  return STREAMS.map((s) => `${STREAM_LETTERS[s]}${t[s]}`).join("_");
}

/**
 * Parses a token this server issued; anything else (an unknown letter, a repeated one, a malformed position) is
 * 400 M_INVALID_PARAM naming `field` (Synapse answers 400 for an unparsable `since` too).
 */
export function parseToken(raw: string, field = "since"): StreamToken {
  const bad = () => MatrixError.invalidParam(field, "is not a sync token this server issued");
  if (raw.length === 0 || raw.length > MAX_TOKEN) throw bad();
  const out: Record<string, number> = { ...ZERO_TOKEN };
  const seen = new Set<string>();
  for (const seg of raw.split("_")) {
    const m = SEGMENT.exec(seg);
    const stream = m ? BY_LETTER.get(m[1]!) : undefined;
    if (!m || !stream || seen.has(stream)) throw bad();
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) throw bad();
    seen.add(stream);
    out[stream] = n;
  }
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
