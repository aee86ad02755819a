/**
 * The per-user stream positions inside a composite sync token (docs/client-api.md, "Streams and sync tokens").
 * A token is `_`-joined segments, each a stream letter and a decimal position: `s120_d7_t31_a4`. The letters this
 * code owns: `d` device lists, `t` to-device, `a` account data; other letters (the event stream's and whatever
 * /sync adds) are kept by /sync and ignored here. A stream whose letter is missing is at position 0.
 */
import { MatrixError } from "../../../core/errors.js";

export type UserStreamLetter = "d" | "t" | "a";

const SEGMENT = /^([a-z])(0|[1-9][0-9]{0,15})$/;
const MAX_TOKEN = 512;

/** Every stream's position in the token; 400 M_INVALID_PARAM naming `field` when it is not a token. */
export function parseStreamToken(token: string, field: string): ReadonlyMap<string, number> {
  if (token.length === 0 || token.length > MAX_TOKEN) throw MatrixError.invalidParam(field, `must be a sync token of 1 to ${MAX_TOKEN} characters`);
  const out = new Map<string, number>();
  for (const seg of token.split("_")) {
    const m = SEGMENT.exec(seg);
    if (!m || out.has(m[1]!)) throw MatrixError.invalidParam(field, `${JSON.stringify(token)} is not a sync token (segments like "d12" joined by "_")`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** One stream's position from a token (0 when the token has no segment for it). */
export function streamPosition(token: string, field: string, letter: UserStreamLetter): number {
  return parseStreamToken(token, field).get(letter) ?? 0;
}

/** Writes positions as a token, letters in a fixed order. */
export function formatStreamToken(positions: Readonly<Record<string, number>>): string {
  return Object.keys(positions).sort().map((k) => `${k}${positions[k]}`).join("_");
}
