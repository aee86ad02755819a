/**
 * Glob matching against a brute-force reference (fast-check): dynamic
 * programming for whole matches, and every substring
 * with boundaries on both sides for word matches. Small alphabets make
 * wildcards, boundaries and case collide often.
 */
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileGlob } from "./glob.js";

/** Textbook dynamic programming over (pattern position, value position): a second, independent implementation. */
function referenceWhole(pattern: string, value: string): boolean {
  const p = Array.from(pattern.toLowerCase());
  const v = Array.from(value.toLowerCase());
  // can[i][j]: p[i..] matches v[j..]
  const can: boolean[][] = Array.from({ length: p.length + 1 }, () => new Array<boolean>(v.length + 1).fill(false));
  can[p.length]![v.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    for (let j = v.length; j >= 0; j--) {
      const c = p[i]!;
      if (c === "*") can[i]![j] = can[i + 1]![j]! || (j < v.length && can[i]![j + 1]!);
      else can[i]![j] = j < v.length && (c === "?" || c === v[j]) && can[i + 1]![j + 1]!;
    }
  }
  return can[0]![0]!;
}
const isWord = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
function referenceWord(pattern: string, value: string): boolean {
  const v = value.toLowerCase();
  for (let i = 0; i <= v.length; i++) {
    const startOk = i === 0 || !isWord(v[i - 1]) || (i < v.length && !isWord(v[i]));
    if (!startOk) continue;
    for (let j = i; j <= v.length; j++) {
      const endOk = j === v.length || !isWord(v[j]) || (j > 0 && !isWord(v[j - 1]));
      if (endOk && referenceWhole(pattern, v.slice(i, j))) return true;
    }
  }
  return false;
}

const valueChars = fc.constantFrom("a", "b", "A", "_", " ", "-", "1");
const patternChars = fc.constantFrom("a", "b", "B", "_", " ", "-", "*", "?");
const value = fc.array(valueChars, { maxLength: 12 }).map((a) => a.join(""));
const pattern = fc.array(patternChars, { maxLength: 6 }).map((a) => a.join(""));

describe("compileGlob (properties)", () => {
  it("matchesWhole agrees with a dynamic-programming matcher", () => {
    fc.assert(fc.property(pattern, value, (p, v) => compileGlob(p, { caseInsensitive: true }).matchesWhole(v) === referenceWhole(p, v)), { numRuns: 3000 });
  });
  it("matchesWord agrees with trying every word-bounded substring", () => {
    fc.assert(fc.property(pattern, value, (p, v) => compileGlob(p, { caseInsensitive: true }).matchesWord(v) === referenceWord(p, v)), { numRuns: 3000 });
  });
  it("a pattern of more than 30 parts (array states) agrees with the reference too", () => {
    const longPattern = fc.array(patternChars, { minLength: 31, maxLength: 40 }).map((a) => a.join(""));
    const longValue = fc.array(valueChars, { minLength: 25, maxLength: 45 }).map((a) => a.join(""));
    fc.assert(fc.property(longPattern, longValue, (p, v) => compileGlob(p, { caseInsensitive: true }).matchesWhole(v) === referenceWhole(p, v)), { numRuns: 500 });
  });
});
