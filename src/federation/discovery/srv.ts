/**
 * SRV target ordering, RFC 2782 ("Usage rules"): lowest priority first; within one priority, pick records at
 * random in proportion to their weight (weight 0 records are placed first and chosen only rarely), removing each
 * record once picked. `random` is injected so tests can pin the order.
 */
import type { SrvAnswer } from "./dns.js";

export function orderSrv(records: readonly SrvAnswer[], random: () => number = Math.random): SrvAnswer[] {
  const byPriority = new Map<number, SrvAnswer[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority) ?? [];
    list.push(r);
    byPriority.set(r.priority, list);
  }
  const out: SrvAnswer[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first, as RFC 2782 says, then the running-sum selection.
    const pool = [...byPriority.get(priority)!].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (pool.length > 0) {
      const total = pool.reduce((s, r) => s + r.weight, 0);
      const pick = Math.floor(random() * (total + 1));
      let running = 0;
      let idx = pool.length - 1;
      for (let i = 0; i < pool.length; i++) {
        running += pool[i]!.weight;
        if (running >= pick) { idx = i; break; }
      }
      out.push(pool.splice(idx, 1)[0]!);
    }
  }
  return out;
}
