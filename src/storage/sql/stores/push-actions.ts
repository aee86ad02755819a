/**
 * PushActionStore over SQL (migrations 0018, 0020 and 0022, docs/storage.md "Push actions"), and the rows
 * persistWork writes in the events' transaction.
 *
 * The actions are stored as runs: one row per user, room, batch and bucket of RUN_BUCKET stream orderings for the
 * actions with the same thread, highlight and actions, holding the events' stream orderings. A run never spans two
 * buckets, so every run with an event after ordering `from` starts at or after bucketStart(from + 1), and runs read in
 * first_ordering order are grouped by bucket: a bucket read whole gives its events exactly, in order.
 *
 * A batch writes its runs to event_push_action_runs_recent, a small table, and each batch whose forward positions
 * pass a multiple of MOVE_EVERY (with push actions or not: persistWork, passesMove) moves that table's rows into event_push_action_runs: in the big table every user's rows
 * lie apart (two pages per user dirtied by each commit that adds to them), in the small one they share a few pages,
 * so a commit writes a few pages instead of two per member. Every read takes both tables.
 */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonValue } from "../../../core/json/types.js";
import type { PushActionCounts, PushActionStore, PushActionToStore, StorageBackend, StoredPushAction, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, strOrNull, valuesList, type Row, type SqlRunner, type UnitOfWork } from "../uow.js";

/** The width of a run's bucket of stream orderings (migration 0022 groups by the same number). */
export const RUN_BUCKET = 64;

/** A batch whose stream orderings pass a multiple of this moves the recent runs into the big table. */
export const MOVE_EVERY = 256;

const bucketStart = (ordering: number): number => Math.floor(ordering / RUN_BUCKET) * RUN_BUCKET;

const COLUMNS = "user_id, room_id, first_ordering, last_ordering, n, thread_id, highlight, actions_json, orderings_json";

/**
 * SQL for the highest stream ordering of a user's push actions (0: none), binding the user id three times: the run
 * with the highest last ordering starts less than RUN_BUCKET below the highest first ordering.
 */
export const NEWEST_ACTION_SQL = `SELECT MAX(m) AS m FROM (
  SELECT COALESCE(MAX(last_ordering), 0) AS m FROM event_push_action_runs WHERE user_id = ? AND first_ordering > (SELECT COALESCE(MAX(first_ordering), 0) FROM event_push_action_runs WHERE user_id = ?) - ${RUN_BUCKET}
  UNION ALL SELECT COALESCE(MAX(last_ordering), 0) AS m FROM event_push_action_runs_recent WHERE user_id = ?) newest`;

/** Both tables' runs matching `where` (its parameters are bound once for each table). */
const bothTables = (where: string): string =>
  `SELECT ${COLUMNS} FROM event_push_action_runs WHERE ${where} UNION ALL SELECT ${COLUMNS} FROM event_push_action_runs_recent WHERE ${where}`;

interface Run {
  readonly roomId: RoomId;
  readonly first: number;
  readonly last: number;
  readonly n: number;
  readonly threadId: string | null;
  readonly highlight: boolean;
  readonly actionsJson: string;
  readonly orderingsJson: string;
}

function runOf(r: Row): Run {
  return {
    roomId: str(r["room_id"]) as RoomId,
    first: num(r["first_ordering"]),
    last: num(r["last_ordering"]),
    n: num(r["n"]),
    threadId: strOrNull(r["thread_id"]),
    highlight: num(r["highlight"]) !== 0,
    actionsJson: str(r["actions_json"]),
    orderingsJson: str(r["orderings_json"]),
  };
}

const orderingsOf = (run: Run): number[] => (JSON.parse(run.orderingsJson) as unknown[]).map(num);

/** JSON text of an actions list, once per list (the rules' outcomes share their lists). */
const actionsText = new WeakMap<object, string>();
function actionsJsonOf(actions: readonly JsonValue[]): string {
  let s = actionsText.get(actions);
  if (s === undefined) actionsText.set(actions, (s = JSON.stringify(actions)));
  return s;
}

/** Inside persistWork: the actions of the events written to the timeline now (`placed`: event -> room and position). */
export function* insertPushActions(actions: readonly PushActionToStore[], placed: ReadonlyMap<EventId, { roomId: RoomId; ordering: StreamOrdering }>): UnitOfWork<void> {
  const runs = new Map<string, { userId: UserId; roomId: RoomId; threadId: string | null; highlight: boolean; actionsJson: string; orderings: number[] }>();
  for (const a of actions) {
    const at = placed.get(a.eventId);
    if (!at) continue;
    const actionsJson = actionsJsonOf(a.actions);
    const key = JSON.stringify([a.userId, at.roomId, bucketStart(at.ordering), a.threadId, a.highlight, actionsJson]);
    const run = runs.get(key);
    if (run) run.orderings.push(at.ordering);
    else runs.set(key, { userId: a.userId, roomId: at.roomId, threadId: a.threadId, highlight: a.highlight, actionsJson, orderings: [at.ordering] });
  }
  const rows = [...runs.values()].map((r) => {
    // One action per user and event: an event listed twice (the same action given twice) counts once.
    const orderings = [...new Set(r.orderings)].sort((x, y) => x - y);
    return [r.userId, r.roomId, orderings[0]!, orderings.at(-1)!, orderings.length, r.threadId, r.highlight ? 1 : 0, r.actionsJson, JSON.stringify(orderings)];
  });
  for (const part of chunks(rows, 100)) {
    yield* exec(`INSERT INTO event_push_action_runs_recent (${COLUMNS}) VALUES ${valuesList(part.length, 9)} ON CONFLICT (user_id, room_id, first_ordering) DO NOTHING`, ...part.flat());
  }
}

/** Whether a batch given forward positions first..last moves the recent runs (it passes a multiple of MOVE_EVERY). */
export function passesMove(first: number, last: number): boolean {
  return last >= first && Math.floor((first - 1) / MOVE_EVERY) < Math.floor(last / MOVE_EVERY);
}

/**
 * The recent runs into the big table. PostgreSQL: one statement, so that a run another writer commits meanwhile
 * is either moved or left for the next time, never deleted unmoved, and rows another mover holds are skipped (left
 * for it), so two movers never wait on each other; SQLite has one writer at a time.
 */
export function* moveRecentRuns(backend: StorageBackend): UnitOfWork<void> {
  if (backend === "postgres") {
    yield* exec(`WITH moved AS (
        DELETE FROM event_push_action_runs_recent WHERE (user_id, room_id, first_ordering) IN
          (SELECT user_id, room_id, first_ordering FROM event_push_action_runs_recent FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS})
      INSERT INTO event_push_action_runs (${COLUMNS}) SELECT ${COLUMNS} FROM moved ON CONFLICT (user_id, room_id, first_ordering) DO NOTHING`);
  } else {
    yield* exec(`INSERT INTO event_push_action_runs (${COLUMNS}) SELECT ${COLUMNS} FROM event_push_action_runs_recent WHERE true ON CONFLICT (user_id, room_id, first_ordering) DO NOTHING`);
    yield* exec("DELETE FROM event_push_action_runs_recent");
  }
}

/** A run's events within (from, to] as actions (event ids to be filled in). */
function expand(userId: UserId, run: Run, from: number, to: number): Omit<StoredPushAction, "eventId">[] {
  const actions = JSON.parse(run.actionsJson) as JsonValue[];
  return orderingsOf(run)
    .filter((o) => o > from && o <= to)
    .map((o) => ({ userId, roomId: run.roomId, streamOrdering: o, threadId: run.threadId, highlight: run.highlight, actions }));
}

/** The event ids of the listed actions (from the events table, by stream ordering). */
function* withEventIds(actions: readonly Omit<StoredPushAction, "eventId">[]): UnitOfWork<StoredPushAction[]> {
  const ids = new Map<number, EventId>();
  for (const part of chunks([...new Set(actions.map((a) => a.streamOrdering))])) {
    for (const r of yield* query(`SELECT stream_ordering, event_id FROM events WHERE stream_ordering IN ${placeholders(part.length)}`, ...part)) {
      ids.set(num(r["stream_ordering"]), str(r["event_id"]) as EventId);
    }
  }
  return actions.flatMap((a) => {
    const eventId = ids.get(a.streamOrdering);
    return eventId ? [{ ...a, eventId }] : [];
  });
}

/**
 * Walks a user's runs bucket by bucket (ascending from `start`, or descending below `start`), `limit` actions at
 * most. Runs are read RUN_BUCKET + limit at a time: a bucket holds at most RUN_BUCKET runs of one user (one event
 * each at least), so every page but the last ends in a bucket read whole, which is used; the part read of the last
 * bucket is read again with the next page.
 */
function* walk(
  userId: UserId, ascending: boolean, start: number, onlyHighlight: boolean, limit: number,
  take: (run: Run) => Omit<StoredPushAction, "eventId">[],
  stopAt: number,
): UnitOfWork<Omit<StoredPushAction, "eventId">[]> {
  const out: Omit<StoredPushAction, "eventId">[] = [];
  const page = RUN_BUCKET + limit;
  let bound = start;
  while (out.length < limit) {
    const where = `user_id = ? AND first_ordering ${ascending ? ">=" : "<"} ? AND first_ordering ${ascending ? "<=" : ">"} ?${onlyHighlight ? " AND highlight = 1" : ""}`;
    const rows = (yield* query(
      `${bothTables(where)} ORDER BY first_ordering${ascending ? "" : " DESC"} LIMIT ?`,
      userId, bound, stopAt, userId, bound, stopAt, page,
    )).map(runOf);
    if (rows.length === 0) break;
    const whole = rows.length < page;
    // The last bucket of a full page may go on beyond it: it is read again next time.
    const cut = whole ? null : bucketStart(rows.at(-1)!.first);
    const used = cut === null ? rows : rows.filter((r) => bucketStart(r.first) !== cut);
    const got = used.flatMap(take).sort((a, b) => (ascending ? a.streamOrdering - b.streamOrdering : b.streamOrdering - a.streamOrdering));
    out.push(...got);
    if (whole) break;
    bound = ascending ? cut! : cut! + RUN_BUCKET;
  }
  return out.slice(0, limit);
}

export function sqlPushActionStore(db: SqlRunner): PushActionStore {
  return {
    countByThread(userId, roomId, from, to, threadId) {
      return db.read(function* () {
        const only = threadId === undefined ? "" : threadId === null ? " AND thread_id IS NULL" : " AND thread_id = ?";
        const params = [userId, roomId, bucketStart(from + 1), to, ...(typeof threadId === "string" ? [threadId] : [])];
        const rows = yield* query(bothTables(`user_id = ? AND room_id = ? AND first_ordering >= ? AND first_ordering <= ?${only}`), ...params, ...params);
        const counts = new Map<string | null, { notifications: number; highlights: number }>();
        for (const r of rows.map(runOf)) {
          const n = r.first > from && r.last <= to ? r.n : orderingsOf(r).filter((o) => o > from && o <= to).length;
          if (n === 0) continue;
          const c = counts.get(r.threadId) ?? { notifications: 0, highlights: 0 };
          c.notifications += n;
          if (r.highlight) c.highlights += n;
          counts.set(r.threadId, c);
        }
        return counts as ReadonlyMap<string | null, PushActionCounts>;
      });
    },

    listAfter(userId, from, to, limit) {
      return db.read(function* () {
        return yield* withEventIds(yield* walk(userId, true, bucketStart(from + 1), false, limit, (r) => expand(userId, r, from, to), to));
      });
    },

    listBefore(userId, before, limit, onlyHighlight) {
      return db.read(function* () {
        // Runs starting below `before`, newest first; the stop bound is below every ordering.
        return yield* withEventIds(yield* walk(userId, false, before, onlyHighlight, limit, (r) => expand(userId, r, Number.MIN_SAFE_INTEGER, before - 1), Number.MIN_SAFE_INTEGER));
      });
    },

    maxOrdering(userId) {
      return db.read(function* () {
        const r = yield* queryOne(NEWEST_ACTION_SQL, userId, userId, userId);
        return r ? num(r["m"]) : 0;
      });
    },
  };
}
