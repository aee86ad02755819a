/** Glob-style matching: https://spec.matrix.org/v1.19/appendices/#glob-style-matching */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileGlob } from "./glob.js";

const whole = (p: string, v: string, ci = true) => compileGlob(p, { caseInsensitive: ci }).matchesWhole(v);
const word = (p: string, v: string) => compileGlob(p, { caseInsensitive: true }).matchesWord(v);

describe("compileGlob.matchesWhole", () => {
  it("matches the spec's example lunc?* against 'Lunch plans' and 'LUNCH'", () => {
    assert.ok(whole("lunc?*", "Lunch plans"));
    assert.ok(whole("lunc?*", "LUNCH"));
  });
  it("does not match ' lunch' (leading space) or 'lunc' (? needs a character)", () => {
    assert.ok(!whole("lunc?*", " lunch"));
    assert.ok(!whole("lunc?*", "lunc"));
  });
  it("lets * match nothing, and * alone match the empty string", () => {
    assert.ok(whole("a*b", "ab"));
    assert.ok(whole("*", ""));
  });
  it("does not let the empty pattern match a non-empty value", () => {
    assert.ok(whole("", ""));
    assert.ok(!whole("", "a"));
  });
  it("lets ? match exactly one character, including an astral one", () => {
    assert.ok(whole("a?c", "a😀c"));
    assert.ok(!whole("a?c", "ac"));
    assert.ok(!whole("a?c", "abbc"));
  });
  it("treats regular-expression characters and brackets literally", () => {
    assert.ok(whole("a.b", "a.b"));
    assert.ok(!whole("a.b", "axb"));
    assert.ok(whole("[ab]", "[ab]"));
    assert.ok(!whole("[ab]", "a"));
    assert.ok(whole("(x)+", "(x)+"));
    assert.ok(whole("a\\*", "a\\zzz"));
  });
  it("is case-sensitive unless asked", () => {
    assert.ok(!whole("M.ROOM.*", "m.room.message", false));
    assert.ok(whole("m.room.*", "m.room.message", false));
  });
  it("matches a whole value, not a prefix or suffix", () => {
    assert.ok(!whole("m.room", "m.room.message"));
    assert.ok(!whole("room.message", "m.room.message"));
  });
  it("handles many stars against a long non-matching value without blowing up", () => {
    const v = "a".repeat(20_000);
    assert.ok(!whole("*a*a*a*a*a*a*a*a*b", v));
    assert.ok(whole("*a*a*a*a*a*a*a*a*", v));
  });
});

describe("compileGlob with long patterns (more than 30 parts)", () => {
  const long = "a?".repeat(20) + "*z"; // 42 parts: the array automaton
  it("matches the same way as short ones", () => {
    assert.ok(whole(long, "ab".repeat(20) + "z"));
    assert.ok(whole(long, "ab".repeat(20) + "xyz"));
    assert.ok(!whole(long, "ab".repeat(19) + "z"));
    assert.ok(word(long, "hi " + "ab".repeat(20) + "yz there"));
    assert.ok(!word(long, "hi " + "ab".repeat(20) + "zy there"));
  });
});

describe("compileGlob.matchesWord", () => {
  it("matches the spec's ex*ple examples ('An example event.', 'exple', 'An exciting triple-whammy')", () => {
    assert.ok(word("ex*ple", "An example event."));
    assert.ok(word("ex*ple", "exple"));
    assert.ok(word("ex*ple", "An exciting triple-whammy"));
  });
  it("needs a word boundary on both sides", () => {
    assert.ok(!word("cake", "cakes"));
    assert.ok(!word("cake", "pancake"));
    assert.ok(word("cake", "a cake!"));
    assert.ok(word("cake", "cake"));
  });
  it("treats _ and digits as word characters and other punctuation as boundaries", () => {
    assert.ok(!word("bob", "bob_1"));
    assert.ok(!word("bob", "bob1"));
    assert.ok(word("bob", "@bob:example.org"));
    assert.ok(word("bob", "é bob é"));
  });
  it("matches case-insensitively", () => assert.ok(word("alice", "Hi ALICE")));
  it("ends on an empty pattern (found by the property test: it used to loop forever)", () => {
    assert.equal(word("", "abc"), false);
    assert.equal(word("", "a b"), true);
    assert.equal(word("", ""), true);
  });
  it("lets a pattern that starts or ends with a boundary character match next to a word ('@room' in 'hi@room', 'bob:' in 'bob:x')", () => {
    assert.ok(word("@room", "hi@room"));
    assert.ok(word("bob:", "bob:x"));
    assert.ok(!word("@room", "hi@roomy"));
    assert.ok(!word("room", "hi@rooms"));
  });
  it("takes a later start when an earlier one fails", () => assert.ok(word("ab", "abc ab")));
  it("matches a literal display name with glob characters only literally", () => {
    const g = compileGlob("a*b", { caseInsensitive: true, literal: true });
    assert.ok(g.matchesWord("hello a*b"));
    assert.ok(!g.matchesWord("hello axxb"));
  });
});
