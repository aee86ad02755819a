/** PositionMemo: room reads shared by the /sync requests computing up to one event-stream position. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PositionMemo } from "./position-memo.js";

describe("PositionMemo", () => {
  it("reads once per key at one position and shares the answer, reading again at a newer position", async () => {
    const memo = new PositionMemo();
    let reads = 0;
    const load = async () => ++reads;
    assert.deepEqual(await Promise.all([memo.get(5, "a", load), memo.get(5, "a", load)]), [1, 1]);
    assert.equal(await memo.get(5, "b", load), 2, "another key reads");
    assert.equal(await memo.get(6, "a", load), 3, "a newer position starts afresh");
    assert.equal(await memo.get(6, "a", load), 3);
  });

  it("lets a request at an older position read storage itself, keeping the newer position's answers", async () => {
    const memo = new PositionMemo();
    assert.equal(await memo.get(9, "a", async () => "at 9"), "at 9");
    assert.equal(await memo.get(8, "a", async () => "at 8"), "at 8");
    assert.equal(await memo.get(9, "a", async () => "read again"), "at 9");
  });

  it("forgets a failed read, so the next request tries again", async () => {
    const memo = new PositionMemo();
    await assert.rejects(memo.get(1, "a", async () => { throw new Error("busy"); }), /busy/);
    assert.equal(await memo.get(1, "a", async () => "ok"), "ok");
  });

  it("reads the keys not known yet in one call and memoises each key alone", async () => {
    const memo = new PositionMemo();
    const calls: string[][] = [];
    const load = async (keys: readonly string[]) => {
      calls.push([...keys]);
      return new Map(keys.filter((k) => k !== "empty").map((k) => [k, [k.toUpperCase()]]));
    };
    const first = await memo.many(3, ["x", "y", "empty"], (k) => k, load, [] as string[]);
    assert.deepEqual([...first], [["x", ["X"]], ["y", ["Y"]], ["empty", []]]);
    const second = await memo.many(3, ["y", "z"], (k) => k, load, [] as string[]);
    assert.deepEqual([...second], [["y", ["Y"]], ["z", ["Z"]]]);
    assert.deepEqual(calls, [["x", "y", "empty"], ["z"]]);
  });

  it(`starts afresh once what it keeps weighs more than ${PositionMemo.MAX_WEIGHT} (a list weighs its length)`, async () => {
    const memo = new PositionMemo();
    const big = Array.from({ length: PositionMemo.MAX_WEIGHT / 2 }, (_, i) => i);
    await memo.get(1, "a", async () => big);
    await new Promise((r) => setImmediate(r));
    assert.equal(memo.kept().weight, big.length);
    await memo.get(1, "b", async () => big);
    await memo.get(1, "c", async () => [1]);
    await new Promise((r) => setImmediate(r));
    assert.ok(memo.kept().weight <= PositionMemo.MAX_WEIGHT, `kept ${memo.kept().weight}`);
    let reread = false;
    await memo.get(1, "a", async () => ((reread = true), big));
    assert.equal(reread, true, "the memo let go of the first answer");
  });
});
