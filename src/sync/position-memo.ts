/**
 * Room reads shared by the /sync requests that compute up to the same event-stream position (docs/sync.md,
 * "Sharing work between woken requests"). The requests one new event wakes all read the same room's new events,
 * their positions, its members and its state up to the same position `to`: the first to ask reads storage, the
 * others get the same promise.
 *
 * Only reads whose answer is fixed once `to` is committed belong here (events and state up to `to`, keyed by
 * positions and event ids), or reads of the room's state now that `to` bounds in practice (members, a state
 * event id), since the room's state moves only with new events, which move the position. One position is kept:
 * a request at a newer one starts a new memo, one at an older one (still finishing) reads storage itself. Values
 * are shared between requests and must not be changed by the caller.
 *
 * What is kept is bounded by weight: an answer weighs its length (a list, a map) or 1, and the memo starts afresh
 * past MAX_WEIGHT, so a quiet server does not hold a large read (an initial sync's unread scans) for long.
 */
export class PositionMemo {
  /** The most weight kept for one position (then the memo starts afresh). */
  static readonly MAX_WEIGHT = 20_000;
  private position = -1;
  private readonly entries = new Map<string, Promise<unknown>>();
  private weight = 0;

  /** The memoised `load()` under `key` at event-stream position `to`. */
  get<T>(to: number, key: string, load: () => Promise<T>): Promise<T> {
    if (to < this.position) return load();
    this.advance(to);
    return (this.entries.get(key) as Promise<T> | undefined) ?? this.remember(key, load());
  }

  /**
   * `load` over the keys not known yet, in one call, each key's answer memoised alone: many rooms read in one
   * storage call, shared per room.
   */
  async many<K, V>(to: number, keys: readonly K[], keyOf: (k: K) => string, load: (missing: readonly K[]) => Promise<ReadonlyMap<K, V>>, absent: V): Promise<Map<K, V>> {
    const out = new Map<K, V>();
    if (to < this.position) {
      const got = await load(keys);
      for (const k of keys) out.set(k, got.get(k) ?? absent);
      return out;
    }
    this.advance(to);
    const missing = keys.filter((k) => !this.entries.has(keyOf(k)));
    if (missing.length > 0) {
      const batch = load(missing);
      for (const k of missing) this.remember(keyOf(k), batch.then((m) => m.get(k) ?? absent));
    }
    for (const k of keys) out.set(k, await this.get(to, keyOf(k), async () => (await load([k])).get(k) ?? absent));
    return out;
  }

  /** How much is kept now (tests). */
  kept(): { readonly entries: number; readonly weight: number } {
    return { entries: this.entries.size, weight: this.weight };
  }

  private advance(to: number): void {
    if (to === this.position) return;
    this.position = to;
    this.clear();
  }

  private clear(): void {
    this.entries.clear();
    this.weight = 0;
  }

  private remember<T>(key: string, p: Promise<T>): Promise<T> {
    this.entries.set(key, p);
    p.then(
      (v) => {
        if (this.entries.get(key) !== p) return;
        this.weight += Array.isArray(v) ? Math.max(1, v.length) : v instanceof Map ? Math.max(1, v.size) : 1;
        if (this.weight > PositionMemo.MAX_WEIGHT) this.clear();
      },
      // A failed read is not remembered: the next request tries again.
      () => {
        if (this.entries.get(key) === p) this.entries.delete(key);
      },
    );
    return p;
  }
}
