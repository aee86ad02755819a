/**
 * One queue per key (STYLE C9): tasks of one key run one after another in the order they were queued; tasks of
 * different keys never wait on each other. A failed task does not stop the queue. A key's entry is dropped when
 * its last task settles, so idle rooms cost nothing.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

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
}
