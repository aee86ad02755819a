/**
 * Unpadded Base64: https://spec.matrix.org/v1.16/appendices/#unpadded-base64
 *
 * Encoding omits the '=' padding; encodeBase64 uses the standard alphabet
 * (RFC 4648 section 4), encodeBase64Url the URL-safe one (section 5, room
 * version 4+ event ids). Decoding accepts padded and unpadded input in either
 * alphabet, and refuses anything else with a reason (InvalidBase64Error).
 * Pure JavaScript, so core stays runtime-neutral.
 */
import { MatrixError } from "../errors.js";

export class InvalidBase64Error extends MatrixError {
  constructor(readonly reason: string) {
    super("M_BAD_JSON", 400, `invalid base64: ${reason}`);
    this.name = "InvalidBase64Error";
  }
}

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Decoding table: both alphabets; -1 for anything else. */
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  DECODE[STD.charCodeAt(i)] = i;
  DECODE[URL.charCodeAt(i)] = i;
}

function encode(bytes: Uint8Array, alphabet: string): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]! + alphabet[(v >>> 6) & 63]! + alphabet[v & 63]!;
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16;
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]!;
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[v >>> 18]! + alphabet[(v >>> 12) & 63]! + alphabet[(v >>> 6) & 63]!;
  }
  return out;
}

/** Unpadded standard Base64 (`+`, `/`). */
export function encodeBase64(bytes: Uint8Array): string {
  return encode(bytes, STD);
}

/** Unpadded URL-safe Base64 (`-`, `_`). */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encode(bytes, URL);
}

function badChar(str: string, from: number, end: number): InvalidBase64Error {
  for (let i = from; i < end; i++) {
    const c = str.charCodeAt(i);
    if (c >= 128 || DECODE[c]! < 0) return new InvalidBase64Error(`character ${JSON.stringify(str[i])} at position ${i} is not in the Base64 alphabet`);
  }
  return new InvalidBase64Error("invalid character");
}

/** Decodes padded or unpadded, standard or URL-safe Base64. */
export function decodeBase64(str: string): Uint8Array {
  return decodeBase64Into(str, undefined);
}

/**
 * decodeBase64 into `into` when the decoded length fits it exactly (e.g. a
 * reused 64-byte buffer for signatures on the verification hot path), else
 * into a new array. Returns the array written.
 */
export function decodeBase64Into(str: string, into: Uint8Array | undefined): Uint8Array {
  if (typeof str !== "string") throw new InvalidBase64Error("not a string");
  let end = str.length;
  if (end % 4 === 0 && end > 0) {
    if (str.charCodeAt(end - 1) === 0x3d) end--;
    if (str.charCodeAt(end - 1) === 0x3d) end--;
  }
  const rem = end % 4;
  if (rem === 1) throw new InvalidBase64Error(`length ${end} cannot be Base64 (one character too many or too few)`);
  const len = ((end >>> 2) * 3) + (rem === 0 ? 0 : rem - 1);
  const out = into !== undefined && into.length === len ? into : new Uint8Array(len);
  let o = 0;
  let i = 0;
  for (; i + 4 <= end; i += 4) {
    const c0 = str.charCodeAt(i), c1 = str.charCodeAt(i + 1), c2 = str.charCodeAt(i + 2), c3 = str.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 128) throw badChar(str, i, end);
    const a = DECODE[c0]!, b = DECODE[c1]!, c = DECODE[c2]!, e = DECODE[c3]!;
    if ((a | b | c | e) < 0) throw badChar(str, i, end);
    const v = (a << 18) | (b << 12) | (c << 6) | e;
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  if (rem >= 2) {
    const c0 = str.charCodeAt(i), c1 = str.charCodeAt(i + 1), c2 = rem === 3 ? str.charCodeAt(i + 2) : 0x41;
    if ((c0 | c1 | c2) >= 128) throw badChar(str, i, end);
    const a = DECODE[c0]!, b = DECODE[c1]!, c = DECODE[c2]!;
    if ((a | b | c) < 0) throw badChar(str, i, end);
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >>> 16;
    if (rem === 3) out[o++] = (v >>> 8) & 255;
  }
  return out;
}
