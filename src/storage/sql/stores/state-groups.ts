/**
 * State groups: the state at every event, deduplicated and stored as deltas.
 *
 * A group is one room state. Events whose state is the same share a group (a
 * run of messages after one state event all point at it). A group stores only
 * the rows that differ from `prev_state_group`; a group without one (a
 * snapshot) stores the whole state. Groups derived one from another form a
 * lineage numbered by `chain_index` from its snapshot (0), and the delta of
 * group i is taken against its ancestor at i - lowbit(i), the Fenwick-tree
 * parent. So reading a state walks popcount(i) <= log2(i) + 1 groups, and a
 * room with n state changes stores at most n * (log2(n) + 1) delta rows,
 * where a delta per event against the previous group would need n hops to
 * read and a snapshot per event n^2/2 rows.
 */
import type { EventId } from "../../../core/ids/index.js";
import { splitStateKey, stateKeyOf, type StateKey, type StateMap } from "../../../core/events/pdu.js";
import type { StateDelta, StateGroupId, StateStore } from "../../ports.js";
import { chunks, exec, num, numOrNull, placeholders, query, queryOne, str, strOrNull, valuesList, type SqlRunner, type SqlValue, type UnitOfWork } from "../uow.js";

/** A delta: key -> event id, or null for a key removed relative to the base. */
export type DeltaMap = Map<StateKey, EventId | null>;

export interface GroupInfo {
  readonly id: StateGroupId;
  readonly prev: StateGroupId | null;
  readonly chainIndex: number;
  readonly delta: ReadonlyMap<StateKey, EventId | null>;
}

const lowbit = (i: number): number => i & -i;

/** Group rows (without deltas) for `ids`, and their ancestors, until every lineage reaches its snapshot. */
function* loadLineages(ids: Iterable<StateGroupId>, known: Map<StateGroupId, { prev: StateGroupId | null; chainIndex: number }>): UnitOfWork<void> {
  let todo = [...new Set(ids)].filter((g) => !known.has(g));
  while (todo.length > 0) {
    const next: StateGroupId[] = [];
    for (const part of chunks(todo)) {
      const rows = yield* query(`SELECT state_group, prev_state_group, chain_index FROM state_groups WHERE state_group IN ${placeholders(part.length)}`, ...part);
      for (const r of rows) {
        const prev = numOrNull(r["prev_state_group"]);
        known.set(num(r["state_group"]), { prev, chainIndex: num(r["chain_index"]) });
        if (prev !== null && !known.has(prev)) next.push(prev);
      }
    }
    todo = [...new Set(next)];
  }
}

/** The groups a state is read through, nearest first (the group itself, then its delta bases down to the snapshot). */
function pathOf(group: StateGroupId, known: ReadonlyMap<StateGroupId, { prev: StateGroupId | null }>): StateGroupId[] {
  const path: StateGroupId[] = [];
  for (let g: StateGroupId | null = group; g !== null && known.has(g); g = known.get(g)!.prev) path.push(g);
  return path;
}

/** Keys one delta query filters on at most: each is an OR term, and SQLite caps an expression's depth at 1,000. */
const KEYS_PER_QUERY = 100;

/** Delta rows of the given groups (only those of the `filter` keys when given). */
function* loadDeltas(groups: readonly StateGroupId[], filter?: readonly { type: string; stateKey: string }[]): UnitOfWork<Map<StateGroupId, DeltaMap>> {
  const out = new Map<StateGroupId, DeltaMap>(groups.map((g) => [g, new Map()]));
  if (filter && filter.length === 0) return out;
  for (const keys of filter ? chunks(filter, KEYS_PER_QUERY) : [undefined]) {
    const keyClause = keys ? ` AND (${keys.map(() => "(type = ? AND state_key = ?)").join(" OR ")})` : "";
    const keyParams = keys ? keys.flatMap((k) => [k.type, k.stateKey]) : [];
    for (const part of chunks([...new Set(groups)])) {
      const rows = yield* query(`SELECT state_group, type, state_key, event_id FROM state_group_deltas WHERE state_group IN ${placeholders(part.length)}${keyClause}`, ...part, ...keyParams);
      for (const r of rows) out.get(num(r["state_group"]))!.set(stateKeyOf(str(r["type"]), str(r["state_key"])), strOrNull(r["event_id"]) as EventId | null);
    }
  }
  return out;
}

/** The whole states of `groups` (unknown groups map to an empty state). */
export function* readStates(groups: readonly StateGroupId[]): UnitOfWork<Map<StateGroupId, Map<StateKey, EventId>>> {
  const known = new Map<StateGroupId, { prev: StateGroupId | null; chainIndex: number }>();
  yield* loadLineages(groups, known);
  const paths = new Map(groups.map((g) => [g, pathOf(g, known)]));
  const deltas = yield* loadDeltas([...new Set([...paths.values()].flat())]);
  const out = new Map<StateGroupId, Map<StateKey, EventId>>();
  for (const [g, path] of paths) {
    const state = new Map<StateKey, EventId>();
    for (let i = path.length - 1; i >= 0; i--) {
      for (const [k, v] of deltas.get(path[i]!)!) {
        if (v === null) state.delete(k);
        else state.set(k, v);
      }
    }
    out.set(g, state);
  }
  return out;
}

/** One entry of a group's state (the nearest delta row for the key along its path). */
export function* readStateEntry(group: StateGroupId, type: string, stateKey: string): UnitOfWork<EventId | null> {
  const key = stateKeyOf(type, stateKey);
  return (yield* readStateEntries([group], [key])).get(group)!.get(key) ?? null;
}

/** Some entries of several groups' states: per group, each key's nearest delta row along its path (absent keys left out). */
export function* readStateEntries(groups: readonly StateGroupId[], keys: readonly StateKey[]): UnitOfWork<Map<StateGroupId, Map<StateKey, EventId>>> {
  const known = new Map<StateGroupId, { prev: StateGroupId | null; chainIndex: number }>();
  yield* loadLineages(groups, known);
  const paths = new Map(groups.map((g) => [g, pathOf(g, known)]));
  const wanted = [...new Set(keys)];
  const deltas = yield* loadDeltas([...new Set([...paths.values()].flat())], wanted.map((k) => splitStateKey(k)));
  const out = new Map<StateGroupId, Map<StateKey, EventId>>();
  for (const [g, path] of paths) {
    const entries = new Map<StateKey, EventId>();
    for (const key of wanted) {
      for (const step of path) {
        const d = deltas.get(step)!;
        if (!d.has(key)) continue;
        const v = d.get(key);
        if (v) entries.set(key, v);
        break;
      }
    }
    out.set(g, entries);
  }
  return out;
}

/**
 * Writes new groups during a persist. Groups made in this batch stay in memory (with their deltas), so a
 * batch of thousands of state events composes deltas without reading back what it wrote.
 */
export class StateGroupWriter {
  private readonly groups = new Map<StateGroupId, GroupInfo>();
  private readonly rows: SqlValue[][] = [];
  private readonly deltaRows: SqlValue[][] = [];
  private nextId: number;

  constructor(firstId: StateGroupId, private readonly lastId: StateGroupId) {
    this.nextId = firstId;
  }

  /** A group's row and delta, from this batch or the database. */
  *info(id: StateGroupId): UnitOfWork<GroupInfo | null> {
    const hit = this.groups.get(id);
    if (hit) return hit;
    const r = yield* queryOne("SELECT state_group, prev_state_group, chain_index FROM state_groups WHERE state_group = ?", id);
    if (!r) return null;
    const delta = (yield* loadDeltas([id])).get(id)!;
    const info: GroupInfo = { id, prev: numOrNull(r["prev_state_group"]), chainIndex: num(r["chain_index"]), delta };
    this.groups.set(id, info);
    return info;
  }

  /** One key of a group's state: the nearest delta along its path that has the key. */
  private *lookup(group: GroupInfo, key: StateKey): UnitOfWork<EventId | null> {
    for (let g: GroupInfo | null = group; g !== null; g = g.prev === null ? null : yield* this.info(g.prev)) {
      if (g.delta.has(key)) return g.delta.get(key) ?? null;
    }
    return null;
  }

  /** The whole state of a group (for a full state given against a base). */
  *state(id: StateGroupId): UnitOfWork<Map<StateKey, EventId>> {
    const path: GroupInfo[] = [];
    for (let g: StateGroupId | null = id; g !== null; ) {
      const info: GroupInfo | null = yield* this.info(g);
      if (!info) break;
      path.push(info);
      g = info.prev;
    }
    const state = new Map<StateKey, EventId>();
    for (let i = path.length - 1; i >= 0; i--) {
      for (const [k, v] of path[i]!.delta) {
        if (v === null) state.delete(k);
        else state.set(k, v);
      }
    }
    return state;
  }

  private allocate(): StateGroupId {
    if (this.nextId > this.lastId) throw new Error("state group ids allocated for this batch ran out");
    return this.nextId++;
  }

  /** A snapshot group holding the whole state. */
  snapshot(roomId: string, state: StateMap): StateGroupId {
    const id = this.allocate();
    const delta: DeltaMap = new Map(state);
    this.groups.set(id, { id, prev: null, chainIndex: 0, delta });
    this.record(roomId, id, null, 0, delta);
    return id;
  }

  /** The group `base` + `change`; `base` itself when the change changes nothing. */
  *derive(roomId: string, base: StateGroupId, change: StateDelta): UnitOfWork<StateGroupId> {
    const baseInfo = yield* this.info(base);
    if (!baseInfo) throw new Error(`state group ${base} is not stored`);
    // Drop entries that change nothing: each key is looked up along the base's path (log hops, no whole state).
    const merged = new Map<StateKey, EventId | null>();
    for (const k of change.remove ?? []) merged.set(k, null); // removals first, then sets (as in CurrentStateDelta)
    for (const [k, v] of change.set) merged.set(k, v);
    const entries = [...merged];
    const effective: Array<[StateKey, EventId | null]> = [];
    for (const [k, v] of entries) if ((yield* this.lookup(baseInfo, k)) !== v) effective.push([k, v]);
    if (effective.length === 0) return base;

    const index = baseInfo.chainIndex + 1;
    const ancestorIndex = index - lowbit(index);
    // Compose the deltas from the ancestor up to the base (the base's descent path), then this change.
    const path: GroupInfo[] = [];
    for (let g: GroupInfo | null = baseInfo; g !== null && g.chainIndex > ancestorIndex; ) {
      path.push(g);
      g = g.prev === null ? null : yield* this.info(g.prev);
    }
    const ancestor = path.length === 0 ? baseInfo : path[path.length - 1]!.prev;
    const delta: DeltaMap = new Map();
    for (let i = path.length - 1; i >= 0; i--) for (const [k, v] of path[i]!.delta) delta.set(k, v);
    for (const [k, v] of effective) delta.set(k, v);
    const id = this.allocate();
    const prev = typeof ancestor === "number" ? ancestor : ancestor === null ? null : ancestor.id;
    if (prev === null) {
      // The lineage's snapshot was reached without a parent (cannot happen for a well-formed lineage): store whole.
      const whole = yield* this.state(base);
      for (const [k, v] of effective) (v === null ? whole.delete(k) : whole.set(k, v));
      this.groups.set(id, { id, prev: null, chainIndex: 0, delta: new Map(whole) });
      this.record(roomId, id, null, 0, new Map(whole));
      return id;
    }
    this.groups.set(id, { id, prev, chainIndex: index, delta });
    this.record(roomId, id, prev, index, delta);
    return id;
  }

  /** A whole state stored against a base when one is given (deduplicated when equal). */
  *fromState(roomId: string, state: StateMap, base: StateGroupId | null): UnitOfWork<StateGroupId> {
    if (base === null) return this.snapshot(roomId, state);
    const baseState = yield* this.state(base);
    const set = new Map<StateKey, EventId>();
    for (const [k, v] of state) if (baseState.get(k) !== v) set.set(k, v);
    const remove = [...baseState.keys()].filter((k) => !state.has(k));
    return yield* this.derive(roomId, base, { set, remove });
  }

  private record(roomId: string, id: StateGroupId, prev: StateGroupId | null, chainIndex: number, delta: ReadonlyMap<StateKey, EventId | null>): void {
    this.rows.push([id, roomId, prev, chainIndex]);
    for (const [k, v] of delta) {
      const { type, stateKey } = splitStateKey(k);
      this.deltaRows.push([id, type, stateKey, v]);
    }
  }

  /** Writes the groups made, several rows per statement. */
  *flush(): UnitOfWork<void> {
    for (const part of chunks(this.rows, 200)) {
      yield* exec(`INSERT INTO state_groups (state_group, room_id, prev_state_group, chain_index) VALUES ${valuesList(part.length, 4)}`, ...part.flat());
    }
    for (const part of chunks(this.deltaRows, 200)) {
      yield* exec(`INSERT INTO state_group_deltas (state_group, type, state_key, event_id) VALUES ${valuesList(part.length, 4)}`, ...part.flat());
    }
    this.rows.length = 0;
    this.deltaRows.length = 0;
  }
}

function* eventGroups(eventId: EventId): UnitOfWork<{ before: StateGroupId; after: StateGroupId } | null> {
  const r = yield* queryOne("SELECT state_group_before, state_group_after FROM event_state_groups WHERE event_id = ?", eventId);
  return r ? { before: num(r["state_group_before"]), after: num(r["state_group_after"]) } : null;
}

function diff(from: ReadonlyMap<StateKey, EventId>, to: ReadonlyMap<StateKey, EventId>): { set: Map<StateKey, EventId>; remove: StateKey[] } {
  const set = new Map<StateKey, EventId>();
  for (const [k, v] of to) if (from.get(k) !== v) set.set(k, v);
  return { set, remove: [...from.keys()].filter((k) => !to.has(k)) };
}

export function sqlStateStore(db: SqlRunner): StateStore {
  return {
    getEventStateGroups: (eventId) => db.read(() => eventGroups(eventId)),
    async getStateGroup(group) {
      return (await db.read(() => readStates([group]))).get(group)!;
    },
    getStateGroups: (groups) => db.read(() => readStates(groups)),
    getStateAtEvent(eventId, when = "before") {
      return db.read(function* () {
        const g = yield* eventGroups(eventId);
        if (!g) return null;
        const id = when === "before" ? g.before : g.after;
        return (yield* readStates([id])).get(id)!;
      });
    },
    getStateEventAt(eventId, type, stateKey, when = "before") {
      return db.read(function* () {
        const g = yield* eventGroups(eventId);
        if (!g) return null;
        return yield* readStateEntry(when === "before" ? g.before : g.after, type, stateKey);
      });
    },
    getStateEntriesAt(eventIds, keys, when = "before") {
      return db.read(function* () {
        const groupOf = new Map<EventId, StateGroupId>();
        for (const part of chunks([...new Set(eventIds)])) {
          const rows = yield* query(`SELECT event_id, state_group_before, state_group_after FROM event_state_groups WHERE event_id IN ${placeholders(part.length)}`, ...part);
          for (const r of rows) groupOf.set(str(r["event_id"]) as EventId, num(r[when === "before" ? "state_group_before" : "state_group_after"]));
        }
        const entries = yield* readStateEntries([...new Set(groupOf.values())], keys);
        return new Map([...groupOf].map(([id, g]) => [id, entries.get(g)!]));
      });
    },
    getStateGroupDelta(from, to) {
      return db.read(function* () {
        const states = yield* readStates([from, to]);
        return diff(states.get(from)!, states.get(to)!);
      });
    },
  };
}
