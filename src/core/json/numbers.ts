/**
 * Number literals: which are integers (canonical JSON, strict) and how the
 * original text of the others is kept (room versions 1-5).
 *
 * Integers: https://spec.matrix.org/v1.16/appendices/#canonical-json allows
 * only integers in [-(2^53)+1, 2^53-1], and its own example encodes `1e10` as
 * `10000000000`: a literal is an integer when its exact decimal value is one,
 * whatever its spelling (`1e10`, `1E2`, `2.50e1`, `1.0`); `1.5` and `1e-7` are
 * fractions.
 *
 * Number text (v1-5): those versions let floats through, and the sender hashed
 * and signed the text it wrote (Synapse writes Python's float repr: `0.1`,
 * `1e-07`, `1.5e+300`, `-0.0`, `1.0`), which JavaScript's number formatting
 * would change (`1e-7`, `1.5e+300`, `0`, `1`). The number-keeping parse
 * records, for each object or array holding such a literal, the literal's text
 * by key or index; the non-strict canonical encoder writes the recorded text
 * verbatim. The value itself stays a plain JavaScript number, so every reader
 * (auth rules, validators) sees what it always saw. Recorded are the literals
 * with a fraction or an exponent whose JavaScript spelling differs, and
 * integers beyond 2^53 (JavaScript would round them); `-0` is written `0`, as
 * Python reads it as the integer 0. A text is used only while the value at its
 * key is still the number it was parsed as, so an edited value never takes an
 * old spelling; a copied container needs copyNumberTexts (redaction does it).
 * A bare top-level number has no container and keeps no text.
 */

/** The recorded texts of one container: key (or array index) -> the number parsed and its literal. */
type Texts = Map<string | number, { readonly value: number; readonly text: string }>;

const texts = new WeakMap<object, Texts>();

const NUMBER = /^-?(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;
const MAX_INT = 2n ** 53n - 1n;

export type NumberKind = "integer" | "integer-out-of-range" | "fraction";

/** Whether a JSON number literal is an integer in range, an integer out of range, or a fraction (by exact value). */
export function classifyNumberLiteral(text: string): NumberKind {
  const m = NUMBER.exec(text);
  if (!m) return "fraction"; // not a JSON number literal; callers pass only literals the parser accepted
  let digits = (m[1]! + (m[2] ?? "")).replace(/^0+/, "");
  let exp = (m[3] === undefined ? 0 : Number(m[3])) - (m[2]?.length ?? 0);
  if (digits === "") return "integer"; // zero, however written
  const trimmed = digits.replace(/0+$/, "");
  exp += digits.length - trimmed.length;
  digits = trimmed;
  if (exp < 0) return "fraction";
  if (digits.length + exp > 16) return "integer-out-of-range"; // >= 10^16 > 2^53
  return BigInt(digits) * 10n ** BigInt(exp) <= MAX_INT ? "integer" : "integer-out-of-range";
}

/** The non-strict canonical encoder's spelling of a finite number (room versions 1-5 without a kept text). */
export function jsNumberText(v: number): string {
  return Math.abs(v) <= Number.MAX_SAFE_INTEGER || !Number.isInteger(v) ? String(v) : BigInt(v).toString();
}

/** Whether the literal must be kept for the encoder to reproduce it (see the header). */
function needsText(text: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (!/[.eE]/.test(text)) return !Number.isSafeInteger(value); // an integer literal: only when JS rounds it
  return jsNumberText(value) !== text;
}

function record(container: object, key: string | number, value: number, text: string): void {
  let t = texts.get(container);
  if (!t) texts.set(container, (t = new Map()));
  t.set(key, { value, text });
}

/** The kept literal of the number at `container[key]`, if it has one and the value is still that number. */
export function numberTextAt(container: object, key: string | number): string | undefined {
  const t = texts.get(container);
  if (t === undefined) return undefined;
  const r = t.get(key);
  const v = (container as Record<string | number, unknown>)[key];
  return r !== undefined && Object.is(r.value, v) ? r.text : undefined;
}

/** All kept literals of a container, for the encoder's per-container lookup (undefined when it has none). */
export function numberTextsOf(container: object): ReadonlyMap<string | number, { readonly value: number; readonly text: string }> | undefined {
  return texts.get(container);
}

/** Carries the kept literals of `keys` from one container to a copy of it (the copy holds the same values). */
export function copyNumberTexts(from: object, to: object, keys: Iterable<string | number>): void {
  const t = texts.get(from);
  if (t === undefined) return;
  for (const k of keys) {
    const r = t.get(k);
    if (r !== undefined) record(to, k, r.value, r.text);
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Walks JSON text that JSON.parse already accepted as `value`, alongside that
 * value, and records the literal of every number that needs one. Containers are
 * matched by position (key or index), so a duplicate key the parse overwrote
 * leads to a container that is not in the value, and nothing is recorded there.
 */
export function recordNumberTexts(text: string, value: unknown): void {
  // The containers being walked: the parsed counterpart (or null), whether it is an array, and the current key.
  const stack: { node: object | null; array: boolean; key: string | number; expectKey: boolean }[] = [];
  let pendingRoot: unknown = value;
  const n = text.length;
  const current = (): unknown => {
    const top = stack[stack.length - 1];
    if (!top) return pendingRoot;
    return top.node === null ? undefined : (top.node as Record<string | number, unknown>)[top.key];
  };
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === 0x3a /* : */) continue;
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const v = current();
      const array = c === 0x5b;
      const node = typeof v === "object" && v !== null && Array.isArray(v) === array ? v : null;
      stack.push({ node, array, key: 0, expectKey: !array });
      pendingRoot = undefined;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      if (top) {
        if (top.array) top.key = (top.key as number) + 1;
        else top.expectKey = true;
      }
    } else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      if (top && !top.array && top.expectKey) {
        const raw = text.slice(start, i + 1);
        top.key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        top.expectKey = false;
      }
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      if (top && top.node !== null) {
        const literal = text.slice(start, i + 1);
        const v = (top.node as Record<string | number, unknown>)[top.key];
        if (typeof v === "number" && Object.is(v, Number(literal)) && needsText(literal, v)) record(top.node, top.key, v, literal);
        else texts.get(top.node)?.delete(top.key); // a later duplicate key written plainly wins
      }
    } else {
      // true, false, null: skip the rest of the word
      while (i + 1 < n && text.charCodeAt(i + 1) >= 0x61 && text.charCodeAt(i + 1) <= 0x7a) i++;
    }
  }
}
