/**
 * Glob-style matching: https://spec.matrix.org/v1.19/appendices/#glob-style-matching
 * (`*` matches zero or more characters, `?` exactly one; nothing else is
 * special, so `[` and `\` are literal).
 *
 * Patterns come from users and values from other users' events, so this never
 * compiles a backtracking regular expression: the pattern is run as a set of
 * states over the value's characters (O(value × pattern) in the worst case).
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
function isWordChar(c: string): boolean {
  return /^[A-Za-z0-9_]$/.test(c);
}

function tokenize(pattern: string, opts: GlobOptions): Token[] {
  const out: Token[] = [];
  const chars = Array.from(opts.caseInsensitive ? pattern.toLowerCase() : pattern);
  for (const c of chars) {
    if (!opts.literal && c === "*") {
      if (out[out.length - 1]?.t !== "star") out.push({ t: "star" }); // "**" is "*"
    } else if (!opts.literal && c === "?") {
      out.push({ t: "one" });
    } else {
      out.push({ t: "lit", c });
    }
  }
  return out;
}

export function compileGlob(pattern: string, opts: GlobOptions = {}): CompiledGlob {
  const tokens = tokenize(pattern, opts);
  const m = tokens.length;
  const prepare = (v: string): string[] => Array.from(opts.caseInsensitive ? v.toLowerCase() : v);

  /** Adds state i and, through stars (which may match nothing), the states after it. */
  const add = (set: Uint8Array, i: number): void => {
    while (i <= m && !set[i]) {
      set[i] = 1;
      if (tokens[i]?.t !== "star") return;
      i++;
    }
  };
  const step = (from: Uint8Array, c: string): Uint8Array => {
    const to = new Uint8Array(m + 1);
    for (let i = 0; i < m; i++) {
      if (!from[i]) continue;
      const tok = tokens[i]!;
      if (tok.t === "star") add(to, i);
      else if (tok.t === "one" || tok.c === c) add(to, i + 1);
    }
    return to;
  };

  return {
    matchesWhole(value: string): boolean {
      let set: Uint8Array = new Uint8Array(m + 1);
      add(set, 0);
      for (const c of prepare(value)) set = step(set, c);
      return set[m] === 1;
    },
    matchesWord(value: string): boolean {
      const chars = prepare(value);
      let set: Uint8Array = new Uint8Array(m + 1);
      const n = chars.length;
      const boundaryChar = (i: number) => i >= 0 && i < n && !isWordChar(chars[i]!);
      for (let p = 0; p <= n; p++) {
        // A match may start at the start, after a boundary character, or on one
        // (so "@room" matches in "hi@room", as a pattern starting with a boundary).
        if (p === 0 || boundaryChar(p - 1) || boundaryChar(p)) add(set, 0);
        // ...and end at the end, before a boundary character, or just after one.
        if (set[m] && (p === n || boundaryChar(p) || boundaryChar(p - 1))) return true;
        if (p < chars.length) set = step(set, chars[p]!);
      }
      return false;
    },
  };
}
