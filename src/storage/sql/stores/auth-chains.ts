/**
 * The auth-chain cover index (the idea Synapse uses; written afresh here).
 *
 * Every event sits at (chain, sequence) on a chain in which each event cites
 * the one before it as an auth event, so the part of a chain below an event
 * is in its auth chain. An event's auth chain meets any chain in a prefix,
 * so the whole auth chain is a map chain -> highest sequence reached: its
 * "reach". Links store the reach of chain positions, closed under
 * reachability and only where it grows along a chain: the reach of (c, s) is
 * (c, s - 1) plus the highest target per chain over the links of c at or
 * below s. One query gives any event's reach; auth chains and the auth
 * difference are then ranges of chains, read through the (chain, sequence)
 * index, not walks of the DAG.
 */
import type { EventId } from "../../../core/ids/index.js";
import type { Pdu } from "../../../core/events/pdu.js";
import { chunks, exec, num, pause, placeholders, query, str, valuesList, type SqlValue, type UnitOfWork } from "../uow.js";

/** chain id -> highest sequence number reached. */
export type Reach = Map<number, number>;

interface Position {
  readonly chain: number;
  readonly seq: number;
}

function merge(into: Reach, from: ReadonlyMap<number, number>): void {
  for (const [c, s] of from) if ((into.get(c) ?? 0) < s) into.set(c, s);
}

/** Chain positions of stored events. */
function* positionsOf(ids: readonly EventId[]): UnitOfWork<Map<EventId, Position>> {
  const out = new Map<EventId, Position>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = yield* query(`SELECT event_id, chain_id, sequence_number FROM event_auth_chains WHERE event_id IN ${placeholders(part.length)}`, ...part);
    for (const r of rows) out.set(str(r["event_id"]) as EventId, { chain: num(r["chain_id"]), seq: num(r["sequence_number"]) });
  }
  return out;
}

/** For each position, the reach of its links (other chains only): links of its chain at or below its sequence. */
function* linkReaches(positions: Iterable<Position>): UnitOfWork<Map<string, Reach>> {
  const list = [...positions];
  const maxPerChain = new Map<number, number>();
  for (const p of list) if ((maxPerChain.get(p.chain) ?? 0) < p.seq) maxPerChain.set(p.chain, p.seq);
  const links = new Map<number, Array<[number, number, number]>>(); // chain -> [origin seq, target chain, target seq]
  // An IN list over the primary key's first column (sequence bounds applied below) plans faster than OR-ed ranges.
  for (const part of chunks([...maxPerChain], 500)) {
    const bound = Math.max(...part.map(([, s]) => s));
    const rows = yield* query(
      `SELECT origin_chain_id, origin_sequence_number, target_chain_id, target_sequence_number FROM event_auth_chain_links
       WHERE origin_chain_id IN ${placeholders(part.length)} AND origin_sequence_number <= ?`,
      ...part.map(([c]) => c), bound,
    );
    for (const r of rows) {
      const c = num(r["origin_chain_id"]);
      const l = links.get(c) ?? [];
      l.push([num(r["origin_sequence_number"]), num(r["target_chain_id"]), num(r["target_sequence_number"])]);
      links.set(c, l);
    }
  }
  const out = new Map<string, Reach>();
  for (const p of list) {
    const reach: Reach = new Map();
    for (const [os, tc, ts] of links.get(p.chain) ?? []) if (os <= p.seq && (reach.get(tc) ?? 0) < ts) reach.set(tc, ts);
    out.set(`${p.chain}:${p.seq}`, reach);
  }
  return out;
}

/** The reach (auth chain as chain prefixes) of each stored event; events not indexed are absent. */
export function* reachOf(ids: readonly EventId[]): UnitOfWork<Map<EventId, Reach>> {
  const positions = yield* positionsOf(ids);
  const lr = yield* linkReaches(positions.values());
  const out = new Map<EventId, Reach>();
  for (const [id, p] of positions) {
    const reach = new Map(lr.get(`${p.chain}:${p.seq}`)!);
    if (p.seq > 1 && (reach.get(p.chain) ?? 0) < p.seq - 1) reach.set(p.chain, p.seq - 1);
    out.set(id, reach);
  }
  return out;
}

/** Event ids of chain ranges (lo, hi], with their chain positions. */
export function* expandRanges(ranges: ReadonlyMap<number, readonly [number, number]>): UnitOfWork<Array<{ id: EventId; chain: number; seq: number }>> {
  const out: Array<{ id: EventId; chain: number; seq: number }> = [];
  const list = [...ranges].filter(([, [lo, hi]]) => hi > lo);
  // Chains with the same kind of range share an IN list; each chain's own bounds are applied below.
  for (const part of chunks(list, 500)) {
    const lo = Math.min(...part.map(([, [l]]) => l));
    const hi = Math.max(...part.map(([, [, h]]) => h));
    const rows = yield* query(
      `SELECT event_id, chain_id, sequence_number FROM event_auth_chains WHERE chain_id IN ${placeholders(part.length)} AND sequence_number > ? AND sequence_number <= ?`,
      ...part.map(([c]) => c), lo, hi,
    );
    for (const r of rows) {
      const chain = num(r["chain_id"]);
      const seq = num(r["sequence_number"]);
      const [l, h] = ranges.get(chain)!;
      if (seq > l && seq <= h) out.push({ id: str(r["event_id"]) as EventId, chain, seq });
    }
  }
  return out;
}

/** The union of the auth chains of `ids` (stored ones). */
export function* authChainUnion(ids: readonly EventId[]): UnitOfWork<Set<EventId>> {
  const reach: Reach = new Map();
  for (const r of (yield* reachOf(ids)).values()) merge(reach, r);
  const rows = yield* expandRanges(new Map([...reach].map(([c, s]) => [c, [0, s] as const])));
  return new Set(rows.map((r) => r.id));
}

/** Each event's own auth chain; events not stored map to an empty set. */
export function* authChainsEach(ids: readonly EventId[]): UnitOfWork<Map<EventId, Set<EventId>>> {
  const reaches = yield* reachOf(ids);
  const all: Reach = new Map();
  for (const r of reaches.values()) merge(all, r);
  const rows = yield* expandRanges(new Map([...all].map(([c, s]) => [c, [0, s] as const])));
  const byChain = new Map<number, Array<{ id: EventId; seq: number }>>();
  for (const r of rows) {
    const l = byChain.get(r.chain) ?? [];
    l.push(r);
    byChain.set(r.chain, l);
  }
  const out = new Map<EventId, Set<EventId>>();
  for (const id of ids) {
    const set = new Set<EventId>();
    for (const [c, s] of reaches.get(id) ?? []) for (const r of byChain.get(c) ?? []) if (r.seq <= s) set.add(r.id);
    out.set(id, set);
  }
  return out;
}

/**
 * ∪Cᵢ − ∩Cᵢ where Cᵢ is the full auth chain of state set i: its events and their auth chains (as
 * core/state-res and Synapse count it). Per chain, the events between the lowest and highest reach of the sets.
 */
export function* authDifference(stateSets: readonly (readonly EventId[])[]): UnitOfWork<Set<EventId>> {
  if (stateSets.length === 0) return new Set();
  const ids = stateSets.flat();
  const positions = yield* positionsOf(ids);
  const reaches = yield* reachOf(ids);
  const perSet = stateSets.map((set) => {
    const r: Reach = new Map();
    for (const id of set) {
      merge(r, reaches.get(id) ?? new Map());
      const p = positions.get(id);
      if (p && (r.get(p.chain) ?? 0) < p.seq) r.set(p.chain, p.seq);
    }
    return r;
  });
  // Events without a chain position (not stored) can only be in the full chains of the sets that hold them.
  const loose = new Set<EventId>();
  for (const id of ids) if (!positions.has(id) && !stateSets.every((set) => set.includes(id))) loose.add(id);
  const chains = new Set(perSet.flatMap((r) => [...r.keys()]));
  const ranges = new Map<number, [number, number]>();
  for (const c of chains) {
    const seqs = perSet.map((r) => r.get(c) ?? 0);
    ranges.set(c, [Math.min(...seqs), Math.max(...seqs)]);
  }
  const out = new Set((yield* expandRanges(ranges)).map((r) => r.id));
  for (const id of loose) out.add(id);
  return out;
}

/**
 * Indexes new events (in any order within the batch: they are placed after their auth events). Auth events
 * neither stored nor in the batch are left out, as they are of the auth chain itself.
 */
export function* indexAuthChains(events: readonly Pdu[], firstChainId: number): UnitOfWork<void> {
  if (events.length === 0) return;
  const inBatch = new Map(events.map((e) => [e.eventId, e]));
  const stored = new Set<EventId>();
  for (const e of events) for (const a of e.authEvents) if (!inBatch.has(a)) stored.add(a);
  const pos = yield* positionsOf([...stored]);
  const lr = yield* linkReaches(pos.values());
  /** Reach through links (other chains), per indexed event. */
  const linkReach = new Map<EventId, Reach>();
  for (const [id, p] of pos) linkReach.set(id, lr.get(`${p.chain}:${p.seq}`)!);
  // The highest sequence of each chain the batch may extend.
  const tips = new Map<number, number>();
  const chainIds = [...new Set([...pos.values()].map((p) => p.chain))];
  for (const part of chunks(chainIds)) {
    const rows = yield* query(`SELECT chain_id, MAX(sequence_number) AS tip FROM event_auth_chains WHERE chain_id IN ${placeholders(part.length)} GROUP BY chain_id`, ...part);
    for (const r of rows) tips.set(num(r["chain_id"]), num(r["tip"]));
  }

  let nextChain = firstChainId;
  const chainRows: SqlValue[][] = [];
  const linkRows: SqlValue[][] = [];
  let n = 0;
  for (const e of topologicalByAuth(events, inBatch)) {
    if (++n % 500 === 0) yield* pause();
    const auths = [...new Set(e.authEvents)].filter((a) => pos.has(a));
    const reach: Reach = new Map();
    for (const a of auths) {
      const p = pos.get(a)!;
      merge(reach, linkReach.get(a)!);
      if ((reach.get(p.chain) ?? 0) < p.seq) reach.set(p.chain, p.seq);
    }
    // Extend the chain of an auth event that is its chain's tip, else start a chain.
    const extend = auths.find((a) => tips.get(pos.get(a)!.chain) === pos.get(a)!.seq);
    let mine: Position;
    let inherited: ReadonlyMap<number, number>;
    if (extend !== undefined) {
      const p = pos.get(extend)!;
      mine = { chain: p.chain, seq: p.seq + 1 };
      inherited = linkReach.get(extend)!;
    } else {
      mine = { chain: nextChain++, seq: 1 };
      inherited = new Map();
    }
    tips.set(mine.chain, mine.seq);
    reach.delete(mine.chain);
    for (const [c, s] of reach) if ((inherited.get(c) ?? 0) < s) linkRows.push([mine.chain, mine.seq, c, s]);
    pos.set(e.eventId, mine);
    linkReach.set(e.eventId, reach);
    chainRows.push([e.eventId, mine.chain, mine.seq]);
  }
  for (const part of chunks(chainRows, 300)) {
    yield* exec(`INSERT INTO event_auth_chains (event_id, chain_id, sequence_number) VALUES ${valuesList(part.length, 3)}`, ...part.flat());
  }
  for (const part of chunks(linkRows, 200)) {
    yield* exec(
      `INSERT INTO event_auth_chain_links (origin_chain_id, origin_sequence_number, target_chain_id, target_sequence_number) VALUES ${valuesList(part.length, 4)}`,
      ...part.flat(),
    );
  }
}

/** The batch ordered so that each event comes after its auth events in the batch (Kahn; a cycle is broken in batch order). */
function topologicalByAuth(events: readonly Pdu[], inBatch: ReadonlyMap<EventId, Pdu>): Pdu[] {
  const pending = new Map<EventId, number>();
  const children = new Map<EventId, EventId[]>();
  for (const e of events) {
    const deps = [...new Set(e.authEvents)].filter((a) => inBatch.has(a) && a !== e.eventId);
    pending.set(e.eventId, deps.length);
    for (const d of deps) {
      const l = children.get(d);
      if (l) l.push(e.eventId);
      else children.set(d, [e.eventId]);
    }
  }
  const out: Pdu[] = [];
  const done = new Set<EventId>();
  const ready = events.filter((e) => pending.get(e.eventId) === 0).map((e) => e.eventId).reverse();
  const emit = (id: EventId) => {
    done.add(id);
    out.push(inBatch.get(id)!);
    for (const c of children.get(id) ?? []) {
      const n = pending.get(c)! - 1;
      pending.set(c, n);
      if (n === 0) ready.push(c);
    }
  };
  for (const e of events) {
    while (ready.length > 0) {
      const id = ready.pop()!;
      if (!done.has(id)) emit(id);
    }
    if (!done.has(e.eventId)) emit(e.eventId); // part of a cycle: place it where the batch has it
  }
  while (ready.length > 0) {
    const id = ready.pop()!;
    if (!done.has(id)) emit(id);
  }
  return out;
}
