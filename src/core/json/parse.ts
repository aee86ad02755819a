/**
 * Strict parsing of untrusted JSON (STYLE C2). Every refusal is a
 * CanonicalJsonError naming the limit or the path:
 *
 * 1. Size: the UTF-8 length must not exceed `maxBytes` (M_TOO_LARGE).
 * 2. Syntax: not JSON at all is M_NOT_JSON; invalid UTF-8 in byte input too.
 * 3. Depth: arrays/objects nested deeper than `maxDepth` are refused before
 *    the native parser sees them (so a hostile `[[[[...` cannot exhaust the stack).
 * 4. Numbers (when `strictIntegers`, the default): a number whose value is
 *    not an integer (`1.5`, `1e-7`) is a float and refused, as is an integer
 *    outside [-(2^53)+1, 2^53-1] (https://spec.matrix.org/v1.16/appendices/#canonical-json);
 *    an integer in exponent or fraction form (`1e10`, `1E2`, `1.0`) is an
 *    integer, as in the spec's own example. When not strict (room versions
 *    1-5), the text of floats and of integers beyond 2^53 is kept for the
 *    canonical encoder (`keepNumberText`, numbers.ts).
 * 5. Strings and keys must be valid Unicode: `"\ud800"` decodes to a lone
 *    surrogate, which canonical JSON cannot encode, so it is refused.
 */
import type { JsonValue } from "./types.js";
import { CanonicalJsonError } from "./errors.js";
import { classifyNumberLiteral, recordNumberTexts } from "./numbers.js";
import { utf8Length } from "./utf8.js";

export interface ParseLimits {
  /** Largest accepted input in UTF-8 bytes (default 1 MiB). */
  readonly maxBytes?: number;
  /** Deepest accepted nesting of arrays and objects (default 128). */
  readonly maxDepth?: number;
  /** Refuse floats and out-of-range integers (default true; room versions 1-5 pass false). */
  readonly strictIntegers?: boolean;
  /**
   * Keep the literal text of floats and of integers beyond 2^53, which the
   * non-strict canonical encoder then writes verbatim (numbers.ts). Default:
   * on when `strictIntegers` is false, so whatever parses room version 1-5
   * JSON (federation bodies, stored events, debug input) hashes what the
   * sender hashed. Has no effect when strict (no such number gets through).
   */
  readonly keepNumberText?: boolean;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 128;

const decoder = new TextDecoder("utf-8", { fatal: true });

const NUMBER_CHAR = /[0-9.eE+-]/;

/**
 * One pass over the text outside strings: nesting depth (step 3) and number
 * literals with a fraction or exponent (step 4). Outside strings, '.' only
 * occurs in numbers, and 'e'/'E' after a digit only in an exponent
 * ("true"/"false" have no digit before 'e'). Returns whether some number may
 * need its text kept (a fraction or exponent, or 16 digits or more).
 */
function scan(text: string, maxDepth: number, strict: boolean): boolean {
  let depth = 0;
  let spelled = false;
  let digits = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip the string: find the closing quote not escaped by a backslash
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new CanonicalJsonError(`nested deeper than the limit of ${maxDepth} levels`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2e || ((c === 0x65 || c === 0x45) && i > 0 && isDigit(text.charCodeAt(i - 1)))) {
      spelled = true;
      if (!strict) continue;
      let s = i;
      while (s > 0 && NUMBER_CHAR.test(text[s - 1]!)) s--;
      let e = i;
      while (e < n && NUMBER_CHAR.test(text[e]!)) e++;
      const literal = text.slice(s, e);
      // An integer in exponent or fraction form passes; its range is checked after parsing, with its path.
      const kind = classifyNumberLiteral(literal);
      if (kind === "fraction") throw new CanonicalJsonError(`the number ${literal} is not an integer (floats are not allowed)`);
      if (kind === "integer-out-of-range" && !Number.isFinite(Number(literal))) throw new CanonicalJsonError(`integer ${literal} is outside [-(2^53)+1, 2^53-1]`);
      i = e - 1;
      continue;
    }
    if (isDigit(c)) {
      if (++digits >= 16) spelled = true;
    } else {
      digits = 0;
    }
  }
  return spelled;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** After the native parse: integer range (step 4) and valid Unicode (step 5), with the path. */
function check(v: unknown, strict: boolean, path: (string | number)[]): void {
  switch (typeof v) {
    case "number":
      if (strict && !Number.isSafeInteger(v)) {
        throw new CanonicalJsonError(`integer ${v} is outside [-(2^53)+1, 2^53-1]`, [...path]);
      }
      return;
    case "string":
      if (!v.isWellFormed()) throw new CanonicalJsonError("string contains a lone UTF-16 surrogate escape", [...path]);
      return;
    case "object":
      if (v === null) return;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          if (typeof x === "object" || typeof x === "string" || typeof x === "number") {
            path.push(i);
            check(x, strict, path);
            path.pop();
          }
        }
        return;
      }
      for (const k in v) {
        path.push(k);
        if (!k.isWellFormed()) throw new CanonicalJsonError("key contains a lone UTF-16 surrogate escape", [...path]);
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === "object" || typeof x === "string" || typeof x === "number") check(x, strict, path);
        path.pop();
      }
      return;
    default:
      return;
  }
}

/** Parses untrusted JSON text or UTF-8 bytes under limits; see the steps above. */
export function parseJsonStrict(input: string | Uint8Array, limits: ParseLimits = {}): JsonValue {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const strict = limits.strictIntegers ?? true;
  let text: string;
  // Step 1
  if (typeof input === "string") {
    if (input.length > maxBytes || (input.length * 3 > maxBytes && utf8Length(input) > maxBytes)) {
      throw new CanonicalJsonError(`body is larger than the limit of ${maxBytes} bytes`, [], "M_TOO_LARGE");
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) {
      throw new CanonicalJsonError(`body is ${input.byteLength} bytes, over the limit of ${maxBytes}`, [], "M_TOO_LARGE");
    }
    try {
      text = decoder.decode(input);
    } catch {
      throw new CanonicalJsonError("body is not valid UTF-8", [], "M_NOT_JSON");
    }
  }
  // Step 3 and the float half of step 4, before the native parser
  const spelled = scan(text, maxDepth, strict);
  // Step 2
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CanonicalJsonError(`not valid JSON: ${(e as Error).message}`, [], "M_NOT_JSON");
  }
  // Steps 4 and 5
  check(value, strict, []);
  if (spelled && !strict && (limits.keepNumberText ?? true)) recordNumberTexts(text, value);
  return value as JsonValue;
}

/** Like parseJsonStrict but also requires a JSON object at the top level. */
export function parseJsonObjectStrict(input: string | Uint8Array, limits: ParseLimits = {}): import("./types.js").JsonObject {
  const v = parseJsonStrict(input, limits);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CanonicalJsonError("expected a JSON object at the top level");
  return v as import("./types.js").JsonObject;
}
