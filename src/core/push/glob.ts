/**
 * Glob-style matching: https://spec.matrix.org/v1.19/appendices/#glob-style-matching
 * (`*` matches zero or more characters, `?` exactly one; nothing else is
 * special, so `[` and `\` are literal).
 *
 * Patterns come from users and values from other users' events, so this never
 * compiles a backtracking regular expression: a pattern with wildcards runs
 * as a set of states over the value's characters (a bit mask when the pattern
 * has fewer than 31 parts), O(value × pattern) in the worst case; a pattern
 * without wildcards is a plain substring search.
 */

type Token = { readonly t: "lit"; readonly c: string } | { readonly t: "one" } | { readonly t: "star" };

export interface GlobOptions {
  /** Compare case-insensitively (push rules: `event_match`, content rules). */
  readonly caseInsensitive?: boolean;
  /** Treat `*` and `?` as ordinary characters (the display name condition). */
  readonly literal?: boolean;
}

export interface CompiledGlob {
  /** The whole value matches. */
  matchesWhole(value: string): boolean;
  /** Some substring of the value that starts and ends at a word boundary matches. */
  matchesWord(value: string): boolean;
}

/**
 * A word boundary is the start or end of the value or any character not in
 * `[A-Za-z0-9_]` (push module, "Push Rules", content rules and `event_match`
 * on `content.body`).
 */
function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}
/** The character before position i is a boundary character. */
const afterBoundaryChar = (s: string, i: number) => i > 0 && !isWordCode(s.charCodeAt(i - 1));
/** The character at position i is a boundary character. */
const onBoundaryChar = (s: string, i: number) => i < s.length && !isWordCode(s.charCodeAt(i));
/**
 * A match may start at the start, after a boundary character, or on one (so
 * "@room" matches in "hi@room": the pattern starts with a boundary), and end
 * at the end, before a boundary character, or just after one.
 */
const mayStart = (s: string, i: number) => i === 0 || afterBoundaryChar(s, i) || onBoundaryChar(s, i);
const mayEnd = (s: string, i: number) => i === s.length || onBoundaryChar(s, i) || afterBoundaryChar(s, i);

/** One-entry cache: the rooms pipeline lowercases the same body once per local member. */
let lastRaw = "";
let lastLower = "";
function lower(s: string): string {
  if (s.length < 64) return s.toLowerCase();
  if (s !== lastRaw) {
    lastRaw = s;
    lastLower = s.toLowerCase();
  }
  return lastLower;
}

function tokenize(chars: readonly string[], literal: boolean): Token[] {
  const out: Token[] = [];
  for (const c of chars) {
    if (!literal && c === "*") {
      if (out[out.length - 1]?.t !== "star") out.push({ t: "star" }); // "**" is "*"
    } else if (!literal && c === "?") {
      out.push({ t: "one" });
    } else {
      out.push({ t: "lit", c });
    }
  }
  return out;
}

/** Runs the pattern's states over a value: start() before a character may begin a match, step(c) per character. */
interface Automaton {
  reset(): void;
  start(): void;
  step(c: string): void;
  accepting(): boolean;
}

/** States as bits of one integer (patterns of up to 30 tokens). */
function bitAutomaton(tokens: readonly Token[]): Automaton {
  const m = tokens.length;
  let starMask = 0;
  let oneMask = 0;
  const litMasks = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (t.t === "star") starMask |= 1 << i;
    else if (t.t === "one") oneMask |= 1 << i;
    else litMasks.set(t.c, (litMasks.get(t.c) ?? 0) | (1 << i));
  });
  const accept = 1 << m;
  // A star may match nothing, so being at a star is also being just after it (no two stars are adjacent).
  const close = (x: number) => x | ((x & starMask) << 1);
  let cur = 0;
  return {
    reset: () => void (cur = 0),
    start: () => void (cur = close(cur | 1)),
    step: (c) => {
      const advance = cur & ((litMasks.get(c) ?? 0) | oneMask);
      cur = close((advance << 1) | (cur & starMask));
    },
    accepting: () => (cur & accept) !== 0,
  };
}

/** States in two reused arrays, for longer patterns. */
function arrayAutomaton(tokens: readonly Token[]): Automaton {
  const m = tokens.length;
  let cur = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  const add = (set: Uint8Array, i: number): void => {
    set[i] = 1;
    if (i < m && tokens[i]!.t === "star") set[i + 1] = 1;
  };
  return {
    reset: () => cur.fill(0),
    start: () => add(cur, 0),
    step: (c) => {
      next.fill(0);
      for (let i = 0; i < m; i++) {
        if (!cur[i]) continue;
        const tok = tokens[i]!;
        if (tok.t === "star") add(next, i);
        else if (tok.t === "one" || tok.c === c) add(next, i + 1);
      }
      [cur, next] = [next, cur];
    },
    accepting: () => cur[m] === 1,
  };
}

function literalGlob(needle: string, prepare: (v: string) => string): CompiledGlob {
  return {
    matchesWhole: (value) => prepare(value) === needle,
    matchesWord(value) {
      const v = prepare(value);
      // (i < v.length guards the empty needle, which indexOf finds again at the end forever.)
      for (let i = v.indexOf(needle); i >= 0; i = i < v.length ? v.indexOf(needle, i + 1) : -1) {
        const end = i + needle.length;
        if (mayStart(v, i) && mayEnd(v, end)) return true;
      }
      return false;
    },
  };
}

/** Compiled patterns, bounded: rules are few and evaluated for every event. */
const cache = new Map<string, CompiledGlob>();
const CACHE_LIMIT = 4096;

export function compileGlob(pattern: string, opts: GlobOptions = {}): CompiledGlob {
  const key = `${opts.caseInsensitive ? "i" : "-"}${opts.literal ? "l" : "-"}${pattern}`;
  let g = cache.get(key);
  if (!g) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    g = compileUncached(pattern, opts);
    cache.set(key, g);
  }
  return g;
}

function compileUncached(pattern: string, opts: GlobOptions): CompiledGlob {
  const prepare = opts.caseInsensitive ? lower : (v: string) => v;
  const p = opts.caseInsensitive ? pattern.toLowerCase() : pattern;
  if (opts.literal || !/[*?]/.test(p)) return literalGlob(p, prepare);

  const tokens = tokenize(Array.from(p), false);
  const auto = tokens.length < 31 ? bitAutomaton(tokens) : arrayAutomaton(tokens);
  return {
    matchesWhole(value) {
      auto.reset();
      auto.start();
      for (const c of prepare(value)) auto.step(c);
      return auto.accepting();
    },
    matchesWord(value) {
      const v = prepare(value);
      auto.reset();
      let i = 0; // code-unit index of the next character
      for (;;) {
        if (mayStart(v, i)) auto.start();
        if (auto.accepting() && mayEnd(v, i)) return true;
        if (i >= v.length) return false;
        const cp = v.codePointAt(i)!;
        const c = String.fromCodePoint(cp);
        auto.step(c);
        i += c.length;
      }
    },
  };
}
