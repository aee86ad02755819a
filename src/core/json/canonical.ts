/**
 * Canonical JSON: https://spec.matrix.org/v1.16/appendices/#canonical-json
 *
 * 1. Object keys are sorted by Unicode code point (not UTF-16 unit: keys with
 *    characters outside the Basic Multilingual Plane sort after U+E000-U+FFFF).
 * 2. No insignificant whitespace; separators are "," and ":".
 * 3. Strings: '"' and '\' escaped; U+0000-U+001F escaped as \b \t \n \f \r or
 *    \u00XX (lowercase hex); everything else (U+007F, U+2028, non-ASCII) raw.
 *    Lone surrogates cannot be encoded as UTF-8 and are refused.
 * 4. Numbers are integers in [-(2^53)+1, 2^53-1], written as plain decimal
 *    integers (`-0` as `0`); floats, NaN, infinities and integers out of range
 *    are refused (the "strict" mode). Room versions 1-5 tolerated floats on
 *    the wire, which `{ strict: false }` lets through: a number whose literal
 *    the parser kept (numbers.ts) is written as that literal, byte for byte,
 *    so the hash is the one the sender computed; any other number is written
 *    in JavaScript's number format (integers beyond 2^53 in full).
 * 5. The result is encoded as UTF-8 (canonicalJsonBytes).
 *
 * Object properties whose value is `undefined` are left out (as
 * JSON.stringify does), so TypeScript objects with absent optionals encode.
 */
import { CanonicalJsonError, type JsonPath } from "./errors.js";
import { jsNumberText, numberTextsOf } from "./numbers.js";

export interface CanonicalOptions {
  /** Refuse floats and out-of-range integers (default true). */
  readonly strict?: boolean;
}

const MAX_INT = Number.MAX_SAFE_INTEGER; // 2^53 - 1
/** A guard against cyclic or absurdly deep values; parse limits are far lower. */
const MAX_SERIALISE_DEPTH = 1024;
/** A string that may be written as `"s"` has none of these: quote, backslash, control, surrogate. */
const STRING_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;
/** A key that may be written as `"k"` and sorted by UTF-16 unit: the above, and nothing at or above U+D800. */
const KEY_SPECIAL = /["\\\u0000-\u001f\ud800-\uffff]/;

/** Compares two strings by Unicode code point (step 1). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (D800-DFFF) stand for code points above FFFF: move them
      // above E000-FFFF, keeping the order inside each group.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/** Sorts by UTF-16 unit: insertion sort for the small objects events are made of (about twice the native sort's speed there). */
function sortUnits(keys: string[]): void {
  const n = keys.length;
  if (n > 24) {
    keys.sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > x) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = x;
  }
}

/** Sorts keys in place by code point; the UTF-16 order is right unless a key has a char >= U+D800. */
export function sortKeysCodePoint(keys: string[]): string[] {
  sortUnits(keys);
  for (let i = 0; i < keys.length; i++) {
    if (KEY_SPECIAL.test(keys[i]!)) {
      keys.sort(compareCodePoints);
      break;
    }
  }
  return keys;
}

/** Thrown on the fast path; the slow walk below then finds where and why. */
class Unencodable extends Error {}

function encodeString(s: string): string {
  if (!STRING_SPECIAL.test(s)) return `"${s}"`;
  if (!s.isWellFormed()) throw new Unencodable();
  return JSON.stringify(s);
}

type KeptTexts = ReadonlyMap<string | number, { readonly value: number; readonly text: string }>;

/** A member of a container with kept number literals (non-strict only): the literal while the value is still its number. */
function encodeMember(x: unknown, key: string | number, kept: KeptTexts, depth: number): string {
  if (typeof x === "number") {
    const r = kept.get(key);
    if (r !== undefined && Object.is(r.value, x) && Number.isFinite(x)) return r.text;
  }
  return encode(x, false, depth);
}

function encodeObject(o: Record<string, unknown>, strict: boolean, depth: number, omit: ReadonlySet<string> | undefined): string {
  const keys = Object.keys(o);
  const kept = strict ? undefined : numberTextsOf(o);
  if (keys.length === 1 && omit === undefined) {
    // One key (`hashes`, a server's signatures, most m.relates_to): nothing to sort.
    const k = keys[0]!;
    const x = o[k];
    if (x === undefined) return "{}";
    return "{" + (KEY_SPECIAL.test(k) ? encodeString(k) : `"${k}"`) + ":" + (kept ? encodeMember(x, k, kept, depth + 1) : encode(x, strict, depth + 1)) + "}";
  }
  sortUnits(keys);
  let plainKeys = true;
  for (let i = 0; i < keys.length; i++) {
    if (KEY_SPECIAL.test(keys[i]!)) {
      plainKeys = false;
      keys.sort(compareCodePoints);
      break;
    }
  }
  let out = "{";
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = o[k];
    if (x === undefined || (omit !== undefined && omit.has(k))) continue;
    out += (first ? "" : ",") + (plainKeys ? `"${k}"` : encodeString(k)) + ":" + (kept ? encodeMember(x, k, kept, depth + 1) : encode(x, strict, depth + 1));
    first = false;
  }
  return out + "}";
}

function encode(v: unknown, strict: boolean, depth: number): string {
  switch (typeof v) {
    case "string":
      return encodeString(v);
    case "number":
      if (strict ? !Number.isInteger(v) || v > MAX_INT || v < -MAX_INT : !Number.isFinite(v)) throw new Unencodable();
      return strict ? String(v) : jsNumberText(v);
    case "boolean":
      return v ? "true" : "false";
    case "object": {
      if (v === null) return "null";
      if (depth >= MAX_SERIALISE_DEPTH) throw new Unencodable();
      if (Array.isArray(v)) {
        const n = v.length;
        if (n === 0) return "[]";
        const kept = strict ? undefined : numberTextsOf(v);
        if (kept) {
          let out = "[" + encodeMember(v[0], 0, kept, depth + 1);
          for (let i = 1; i < n; i++) out += "," + encodeMember(v[i], i, kept, depth + 1);
          return out + "]";
        }
        let out = "[" + encode(v[0], strict, depth + 1);
        for (let i = 1; i < n; i++) out += "," + encode(v[i], strict, depth + 1);
        return out + "]";
      }
      return encodeObject(v as Record<string, unknown>, strict, depth, undefined);
    }
    default:
      throw new Unencodable();
  }
}

/** Finds the first thing canonical JSON cannot encode, with its path (the error path only). */
export function findUnencodable(v: unknown, strict = true): { path: JsonPath; reason: string } | undefined {
  const path: (string | number)[] = [];
  const seen = new Set<object>();
  const walk = (x: unknown): string | undefined => {
    switch (typeof x) {
      case "string":
        return x.isWellFormed() ? undefined : "string contains a lone UTF-16 surrogate (not valid Unicode)";
      case "number":
        if (Number.isNaN(x)) return "NaN is not valid JSON";
        if (!Number.isFinite(x)) return "infinite numbers are not valid JSON";
        if (!strict) return undefined;
        if (!Number.isInteger(x)) return `${x} is not an integer (canonical JSON allows only integers)`;
        if (x > MAX_INT || x < -MAX_INT) return `integer ${x} is outside [-(2^53)+1, 2^53-1]`;
        return undefined;
      case "boolean":
        return undefined;
      case "object": {
        if (x === null) return undefined;
        if (seen.has(x)) return "value is cyclic";
        if (path.length >= MAX_SERIALISE_DEPTH) return `nested deeper than ${MAX_SERIALISE_DEPTH} levels`;
        seen.add(x);
        if (Array.isArray(x)) {
          for (let i = 0; i < x.length; i++) {
            path.push(i);
            if (x[i] === undefined) return "undefined is not valid JSON";
            const r = walk(x[i]);
            if (r) return r;
            path.pop();
          }
        } else {
          for (const [k, val] of Object.entries(x)) {
            path.push(k);
            if (!k.isWellFormed()) return "key contains a lone UTF-16 surrogate (not valid Unicode)";
            if (val === undefined) { path.pop(); continue; }
            const r = walk(val);
            if (r) return r;
            path.pop();
          }
        }
        seen.delete(x);
        return undefined;
      }
      default:
        return `a ${typeof x} is not a JSON value`;
    }
  };
  const reason = walk(v);
  return reason ? { path: [...path], reason } : undefined;
}

/** The canonical JSON text of a value; throws CanonicalJsonError (M_BAD_JSON) naming the path. */
export function canonicalJson(value: unknown, opts?: CanonicalOptions): string {
  const strict = opts?.strict ?? true;
  try {
    return encode(value, strict, 0);
  } catch (e) {
    throw explain(e, value, strict);
  }
}

/** canonicalJson without the options object, for hot loops that encode many small values. */
export function canonicalJsonValue(value: unknown, strict: boolean): string {
  try {
    return encode(value, strict, 0);
  } catch (e) {
    throw explain(e, value, strict);
  }
}

/**
 * The canonical JSON of an object without some of its top-level keys, without
 * copying it (the content hash leaves out `unsigned`, `signatures`, `hashes`).
 */
export function canonicalJsonWithout(obj: Readonly<Record<string, unknown>>, omit: ReadonlySet<string>, opts?: CanonicalOptions): string {
  const strict = opts?.strict ?? true;
  try {
    return encodeObject(obj as Record<string, unknown>, strict, 0, omit);
  } catch (e) {
    const rest: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) if (!omit.has(k)) Object.defineProperty(rest, k, { value: obj[k], enumerable: true });
    throw explain(e, rest, strict);
  }
}

function explain(e: unknown, value: unknown, strict: boolean): unknown {
  if (!(e instanceof Unencodable) && !(e instanceof RangeError)) return e;
  const p = findUnencodable(value, strict);
  return new CanonicalJsonError(p?.reason ?? "value cannot be encoded as canonical JSON", p?.path ?? []);
}

const encoder = new TextEncoder();

/** The canonical JSON of a value as UTF-8 bytes: what gets hashed and signed. */
export function canonicalJsonBytes(value: unknown, opts?: CanonicalOptions): Uint8Array {
  return encoder.encode(canonicalJson(value, opts));
}
