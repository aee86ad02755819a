/** KeyedQueue.batch: items queued while a key is busy are handled together, in order, and each is answered. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyedQueue, type Batched } from "./keyed-queue.js";

const echo = async (items: readonly Batched<number, number>[]) => {
  for (const b of items) b.resolve(b.item * 10);
};

describe("KeyedQueue.batch", () => {
  it("handles the items queued while the key is busy in one batch, in the order they came", async () => {
    const q = new KeyedQueue();
    let release!: () => void;
    const busy = q.run("room", () => new Promise<void>((r) => (release = r)));
    const batches: number[][] = [];
    const handle = async (items: readonly Batched<number, number>[]) => {
      batches.push(items.map((b) => b.item));
      await echo(items);
    };
    const answers = [1, 2, 3].map((n) => q.batch("room", "k", n, handle));
    await new Promise((r) => setImmediate(r)); // the holding task is running
    release();
    await busy;
    assert.deepEqual(await Promise.all(answers), [10, 20, 30]);
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it("starts another batch past `max`, and one for items that come once a batch has started", async () => {
    const q = new KeyedQueue();
    const batches: number[][] = [];
    const handle = async (items: readonly Batched<number, number>[]) => {
      batches.push(items.map((b) => b.item));
      await echo(items);
    };
    const first = [1, 2, 3].map((n) => q.batch("room", "k", n, handle, { max: 2 }));
    await Promise.all(first);
    await q.batch("room", "k", 4, handle, { max: 2 });
    assert.deepEqual(batches, [[1, 2], [3], [4]]);
  });

  it("rejects every item of a batch whose handler throws, and an item the handler leaves unanswered", async () => {
    const q = new KeyedQueue();
    const failing = [1, 2].map((n) => q.batch<number, number>("room", "k", n, async () => { throw new Error("disk full"); }));
    for (const p of failing) await assert.rejects(p, /disk full/);
    const partial = [1, 2].map((n) => q.batch<number, number>("room", "k", n, async (items) => items[0]!.resolve(1)));
    assert.equal(await partial[0], 1);
    await assert.rejects(partial[1]!, /left an item unsettled/);
  });

  it("waits for `gather` before closing a batch, so items arriving meanwhile join it", async () => {
    const q = new KeyedQueue();
    let open!: () => void;
    const gathered = new Promise<void>((r) => (open = r));
    const batches: number[][] = [];
    const handle = async (items: readonly Batched<number, number>[]) => {
      batches.push(items.map((b) => b.item));
      await echo(items);
    };
    const a = q.batch("room", "k", 1, handle, { gather: () => gathered });
    await new Promise((r) => setImmediate(r)); // the batch's task has started and is gathering
    const b = q.batch("room", "k", 2, handle, { gather: () => gathered });
    open();
    assert.deepEqual(await Promise.all([a, b]), [10, 20]);
    assert.deepEqual(batches, [[1, 2]]);
  });
});
