/**
 * One queue per key (STYLE C9): tasks of one key run one after another in the order they were queued; tasks of
 * different keys never wait on each other. A failed task does not stop the queue. A key's entry is dropped when
 * its last task settles, so idle rooms cost nothing.
 *
 * `batch` groups items of one kind: the items queued for a key while its batch waits for its turn are handled by
 * one task, in the order they came (a room's sends then share one storage transaction).
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Per kind and key, the batch that has not started yet and still takes items. */
  private readonly open = new Map<string, Batched<unknown, unknown>[]>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks. */
  get activeKeys(): number {
    return this.tails.size;
  }

  /**
   * Queues `item` for `handle`, together with the other items of the same kind and key queued before the batch's
   * task starts (at most `max` in one batch). When its turn comes the task first awaits `gather` (the event loop
   * may then take in more items), then closes the batch. `handle` settles each item through its resolve or
   * reject; an item it leaves unsettled, or all of them if it throws, is rejected.
   */
  batch<I, R>(key: string, kind: string, item: I, handle: (items: readonly Batched<I, R>[]) => Promise<void>, opts: { max?: number; gather?: () => Promise<void> } = {}): Promise<R> {
    const max = opts.max ?? 100;
    return new Promise<R>((resolve, reject) => {
      const k = `${kind}\u0000${key}`;
      let items = this.open.get(k) as Batched<I, R>[] | undefined;
      if (!items || items.length >= max) {
        const mine: Batched<I, R>[] = [];
        items = mine;
        this.open.set(k, mine as Batched<unknown, unknown>[]);
        void this.run(key, async () => {
          if (opts.gather) await opts.gather();
          if (this.open.get(k) === (mine as Batched<unknown, unknown>[])) this.open.delete(k);
          try {
            await handle(mine);
          } catch (e) {
            for (const b of mine) b.reject(e);
          }
          for (const b of mine) b.reject(new Error(`batch ${kind} left an item unsettled`));
        });
      }
      items.push({ item, resolve, reject });
    });
  }
}

/** One item of a KeyedQueue batch and how to answer it. */
export interface Batched<I, R> {
  readonly item: I;
  resolve(result: R): void;
  reject(error: unknown): void;
}
