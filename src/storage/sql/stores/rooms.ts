/**
 * RoomStore over SQL: rooms, current state, current memberships, forward
 * extremities, and the current-state and membership streams /sync reads.
 * Current state is written by persist.ts through applyCurrentState, in the
 * events' transaction.
 */
import type { EventId, RoomId, ServerName, UserId } from "../../../core/ids/index.js";
import { splitStateKey, stateKeyOf, type StateKey } from "../../../core/events/pdu.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { CurrentStateDelta, OutOfBandMembership, PartialStateRoom, RoomRecord, RoomStore, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, queryOne, str, strOrNull, valuesList, type Row, type SqlRunner, type SqlValue, type UnitOfWork } from "../uow.js";

function toPartialStateRoom(r: Row): PartialStateRoom {
  const servers = JSON.parse(str(r["servers_in_room"])) as unknown;
  return {
    roomId: str(r["room_id"]) as RoomId, joinEventId: str(r["join_event_id"]) as EventId, joinedTs: num(r["joined_ts"]),
    serversInRoom: Array.isArray(servers) ? servers.filter((x): x is ServerName => typeof x === "string") : [],
  };
}

const PARTIAL_COLUMNS = "room_id, join_event_id, servers_in_room, joined_ts";

/** Records a partial-state room (migration 0021), replacing a row for it. */
export function* recordPartialStateRoom(p: PartialStateRoom): UnitOfWork<void> {
  yield* exec(
    `INSERT INTO partial_state_rooms (${PARTIAL_COLUMNS}) VALUES (?, ?, ?, ?)
     ON CONFLICT (room_id) DO UPDATE SET join_event_id = excluded.join_event_id, servers_in_room = excluded.servers_in_room, joined_ts = excluded.joined_ts,
       completed_ordering = NULL`,
    p.roomId, p.joinEventId, JSON.stringify(p.serversInRoom), p.joinedTs,
  );
}

/**
 * A partial-state room's completion (migration 0021): each snapshot group of the room (no prev_state_group) gains
 * the `fill` keys it lacks, so every group derived from one (the join's, every event's since) reads them too; the
 * partial-state row is marked complete at stream position `position`.
 */
export function* completePartialStateRoom(roomId: RoomId, fill: ReadonlyMap<StateKey, EventId>, position: StreamOrdering): UnitOfWork<void> {
  const snapshots = (yield* query("SELECT state_group FROM state_groups WHERE room_id = ? AND prev_state_group IS NULL", roomId)).map((r) => num(r["state_group"]));
  const rows = [...fill].map(([k, id]) => { const { type, stateKey } = splitStateKey(k); return [type, stateKey, id] as const; });
  for (const g of snapshots) {
    for (const part of chunks(rows, 200)) {
      yield* exec(
        `INSERT INTO state_group_deltas (state_group, type, state_key, event_id) VALUES ${valuesList(part.length, 4)}
         ON CONFLICT (state_group, type, state_key) DO NOTHING`,
        ...part.flatMap(([type, stateKey, id]) => [g, type, stateKey, id]),
      );
    }
  }
  yield* exec("UPDATE partial_state_rooms SET completed_ordering = ? WHERE room_id = ?", position, roomId);
}

function toRoom(r: Row): RoomRecord {
  return { roomId: str(r["room_id"]) as RoomId, roomVersion: str(r["room_version"]), creator: str(r["creator"]) as UserId };
}

/** Current values of some keys of a room's state (all keys when `keys` is undefined). */
function* currentValues(roomId: RoomId, keys: readonly StateKey[] | undefined): UnitOfWork<Map<StateKey, EventId>> {
  const out = new Map<StateKey, EventId>();
  if (keys === undefined) {
    for (const r of yield* query("SELECT type, state_key, event_id FROM current_state_events WHERE room_id = ?", roomId)) {
      out.set(stateKeyOf(str(r["type"]), str(r["state_key"])), str(r["event_id"]) as EventId);
    }
    return out;
  }
  for (const part of chunks([...new Set(keys)], 200)) {
    const where = part.map(() => "(type = ? AND state_key = ?)").join(" OR ");
    const params = part.flatMap((k) => {
      const { type, stateKey } = splitStateKey(k);
      return [type, stateKey];
    });
    for (const r of yield* query(`SELECT type, state_key, event_id FROM current_state_events WHERE room_id = ? AND (${where})`, roomId, ...params)) {
      out.set(stateKeyOf(str(r["type"]), str(r["state_key"])), str(r["event_id"]) as EventId);
    }
  }
  return out;
}

/**
 * Applies current-state changes at stream position `position`: the table of current state, one
 * current-state stream row per key that changed, and for member events the current membership and the
 * membership stream. `memberships` knows the membership of member events in the batch; others are read.
 */
export function* applyCurrentState(deltas: readonly CurrentStateDelta[], position: StreamOrdering, memberships: ReadonlyMap<EventId, string | null>): UnitOfWork<void> {
  // Merge several deltas of one room in order.
  const changes = new Map<RoomId, Map<StateKey, EventId | null>>();
  const replaced = new Set<RoomId>();
  for (const d of deltas) {
    let c = changes.get(d.roomId);
    if (!c || d.replace) {
      c = new Map();
      changes.set(d.roomId, c);
    }
    if (d.replace) replaced.add(d.roomId);
    for (const k of d.remove ?? []) c.set(k, null);
    for (const [k, v] of d.set) c.set(k, v);
  }
  const upserts: SqlValue[][] = [];
  const removals: Array<[RoomId, StateKey]> = [];
  const stream: SqlValue[][] = [];
  const members: Array<{ roomId: RoomId; userId: string; eventId: EventId | null }> = [];
  for (const [roomId, c] of changes) {
    const replace = replaced.has(roomId);
    const current = yield* currentValues(roomId, replace ? undefined : [...c.keys()]);
    const target = new Map(c);
    if (replace) for (const k of current.keys()) if (!target.has(k)) target.set(k, null);
    for (const [k, v] of target) {
      const old = current.get(k) ?? null;
      if (old === v) continue;
      const { type, stateKey } = splitStateKey(k);
      if (v === null) removals.push([roomId, k]);
      else upserts.push([roomId, type, stateKey, v]);
      stream.push([position, roomId, type, stateKey, v, old]);
      if (type === "m.room.member") members.push({ roomId, userId: stateKey, eventId: v });
    }
  }
  for (const part of chunks(removals, 200)) {
    const where = part.map(() => "(room_id = ? AND type = ? AND state_key = ?)").join(" OR ");
    const params = part.flatMap(([roomId, k]) => {
      const { type, stateKey } = splitStateKey(k);
      return [roomId, type, stateKey];
    });
    yield* exec(`DELETE FROM current_state_events WHERE ${where}`, ...params);
  }
  for (const part of chunks(upserts, 200)) {
    yield* exec(
      `INSERT INTO current_state_events (room_id, type, state_key, event_id) VALUES ${valuesList(part.length, 4)}
       ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id`,
      ...part.flat(),
    );
  }
  for (const part of chunks(stream, 150)) {
    yield* exec(`INSERT INTO current_state_delta_stream (stream_ordering, room_id, type, state_key, event_id, prev_event_id) VALUES ${valuesList(part.length, 6)}`, ...part.flat());
  }
  if (members.length === 0) return;

  // Memberships of member events not in the batch.
  const known = new Map(memberships);
  const unknown = members.flatMap((m) => (m.eventId !== null && !known.has(m.eventId) ? [m.eventId] : []));
  for (const part of chunks([...new Set(unknown)])) {
    for (const r of yield* query(`SELECT event_id, membership FROM events WHERE event_id IN ${placeholders(part.length)}`, ...part)) {
      known.set(str(r["event_id"]) as EventId, strOrNull(r["membership"]));
    }
  }
  const set: SqlValue[][] = [];
  const gone: Array<[RoomId, string]> = [];
  const mstream: SqlValue[][] = [];
  for (const m of members) {
    const membership = m.eventId === null ? null : known.get(m.eventId) ?? null;
    if (membership === null || m.eventId === null) gone.push([m.roomId, m.userId]);
    else set.push([m.roomId, m.userId, membership, m.eventId, position]);
    mstream.push([position, m.roomId, m.userId, membership, m.eventId]);
  }
  for (const part of chunks(gone, 200)) {
    yield* exec(`DELETE FROM current_memberships WHERE ${part.map(() => "(room_id = ? AND user_id = ?)").join(" OR ")}`, ...part.flat());
  }
  for (const part of chunks(set, 200)) {
    yield* exec(
      `INSERT INTO current_memberships (room_id, user_id, membership, event_id, stream_ordering) VALUES ${valuesList(part.length, 5)}
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = excluded.membership, event_id = excluded.event_id, stream_ordering = excluded.stream_ordering`,
      ...part.flat(),
    );
  }
  for (const part of chunks(mstream, 200)) {
    yield* exec(`INSERT INTO membership_stream (stream_ordering, room_id, user_id, membership, event_id) VALUES ${valuesList(part.length, 5)}`, ...part.flat());
  }
}

/** Out-of-band memberships at stream position `position` (migration 0012): never the room's state. */
export function* applyOutOfBand(list: readonly OutOfBandMembership[], position: StreamOrdering): UnitOfWork<void> {
  for (const m of list) {
    yield* exec(
      `INSERT INTO current_memberships (room_id, user_id, membership, event_id, stream_ordering) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = excluded.membership, event_id = excluded.event_id, stream_ordering = excluded.stream_ordering`,
      m.roomId, m.userId, m.membership, m.eventId, position,
    );
    yield* exec("INSERT INTO membership_stream (stream_ordering, room_id, user_id, membership, event_id) VALUES (?, ?, ?, ?, ?)", position, m.roomId, m.userId, m.membership, m.eventId);
    if (m.strippedState !== undefined) {
      yield* exec(
        "INSERT INTO membership_stripped_state (event_id, room_id, stripped_state) VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
        m.eventId, m.roomId, JSON.stringify(m.strippedState),
      );
    }
  }
}

export function sqlRoomStore(db: SqlRunner): RoomStore {
  return {
    getRoom(roomId) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT room_id, room_version, creator FROM rooms WHERE room_id = ?", roomId);
        return r ? toRoom(r) : null;
      });
    },
    getCurrentState: (roomId) => db.read(() => currentValues(roomId, undefined)),
    getCurrentStateEventId(roomId, type, stateKey) {
      return db.read(function* () {
        const r = yield* queryOne("SELECT event_id FROM current_state_events WHERE room_id = ? AND type = ? AND state_key = ?", roomId, type, stateKey);
        return r ? (str(r["event_id"]) as EventId) : null;
      });
    },
    getRoomsForUser(userId, membership) {
      return db.read(function* () {
        const rows = yield* query("SELECT room_id FROM current_memberships WHERE user_id = ? AND membership = ? ORDER BY room_id", userId, membership);
        return rows.map((r) => str(r["room_id"]) as RoomId);
      });
    },
    getMembership(roomId, userId) {
      return db.read(function* () {
        const r = yield* queryOne(
          `SELECT m.membership, m.event_id, s.stripped_state FROM current_memberships m
           LEFT JOIN membership_stripped_state s ON s.event_id = m.event_id WHERE m.room_id = ? AND m.user_id = ?`,
          roomId, userId,
        );
        if (!r) return null;
        const stripped = strOrNull(r["stripped_state"]);
        return { membership: str(r["membership"]), eventId: str(r["event_id"]) as EventId, strippedState: stripped === null ? null : (JSON.parse(stripped) as JsonObject[]) };
      });
    },
    getForwardExtremities(roomId) {
      return db.read(function* () {
        const rows = yield* query("SELECT event_id FROM event_forward_extremities WHERE room_id = ? ORDER BY event_id", roomId);
        return rows.map((r) => str(r["event_id"]) as EventId);
      });
    },
    getCurrentStateChanges({ from, to, limit }, roomIds) {
      return db.read(function* () {
        const cols = "stream_ordering, room_id, type, state_key, event_id, prev_event_id";
        const order = "ORDER BY stream_ordering, room_id, type, state_key";
        let rows: readonly Row[];
        if (roomIds === undefined) {
          rows = yield* query(`SELECT ${cols} FROM current_state_delta_stream WHERE stream_ordering > ? AND stream_ordering <= ? ${order} LIMIT ?`, from, to, limit);
        } else {
          const all: Row[] = [];
          for (const part of chunks([...new Set(roomIds)])) {
            all.push(...(yield* query(
              `SELECT ${cols} FROM current_state_delta_stream WHERE room_id IN ${placeholders(part.length)} AND stream_ordering > ? AND stream_ordering <= ? ${order} LIMIT ?`,
              ...part, from, to, limit,
            )));
          }
          all.sort((a, b) => num(a["stream_ordering"]) - num(b["stream_ordering"]));
          rows = all.slice(0, limit);
        }
        return rows.map((r) => ({
          streamOrdering: num(r["stream_ordering"]),
          roomId: str(r["room_id"]) as RoomId,
          type: str(r["type"]),
          stateKey: str(r["state_key"]),
          eventId: strOrNull(r["event_id"]) as EventId | null,
          prevEventId: strOrNull(r["prev_event_id"]) as EventId | null,
        }));
      });
    },
    getPartialStateRoom(roomId) {
      return db.read(function* () {
        const r = yield* queryOne(`SELECT ${PARTIAL_COLUMNS} FROM partial_state_rooms WHERE room_id = ? AND completed_ordering IS NULL`, roomId);
        return r ? toPartialStateRoom(r) : null;
      });
    },
    listPartialStateRooms() {
      return db.read(function* () {
        return (yield* query(`SELECT ${PARTIAL_COLUMNS} FROM partial_state_rooms WHERE completed_ordering IS NULL ORDER BY room_id`)).map(toPartialStateRoom);
      });
    },
    getPartialStateCompletions({ from, to, limit }) {
      return db.read(function* () {
        const rows = yield* query(
          "SELECT room_id FROM partial_state_rooms WHERE completed_ordering > ? AND completed_ordering <= ? ORDER BY completed_ordering, room_id LIMIT ?", from, to, limit,
        );
        return rows.map((r) => str(r["room_id"]) as RoomId);
      });
    },
    getMembershipChanges(userId, { from, to, limit }) {
      return db.read(function* () {
        const rows = yield* query(
          `SELECT stream_ordering, room_id, user_id, membership, event_id FROM membership_stream
           WHERE user_id = ? AND stream_ordering > ? AND stream_ordering <= ? ORDER BY stream_ordering, room_id LIMIT ?`,
          userId, from, to, limit,
        );
        return rows.map((r) => ({
          streamOrdering: num(r["stream_ordering"]),
          roomId: str(r["room_id"]) as RoomId,
          userId: str(r["user_id"]) as UserId,
          membership: strOrNull(r["membership"]),
          eventId: strOrNull(r["event_id"]) as EventId | null,
        }));
      });
    },
  };
}
