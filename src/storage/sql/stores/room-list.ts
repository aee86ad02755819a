/**
 * The sliding-sync room list's tables (migration 0023, docs/storage.md "Room list"), kept in the transaction that
 * persists events (persist.ts step 8c), and their reads.
 *
 * - room_list_rooms: per room, the newest visible forward event (activity), the newest of a bumping type
 *   (bump_stamp, of BUMP_EVENT_TYPES), and the facts of its current state the list filters by. Only forward timeline events move the
 *   positions, and never backwards: backfilled events and outliers have negative orderings and are not counted,
 *   and a position is only ever replaced by a larger one.
 * - room_list_memberships: per (room, local user), the current membership with the room's facts just after it,
 *   written whenever the membership is (current_memberships rows this batch wrote carry its state position).
 */
import type { EventId, RoomId, UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";
import { splitStateKey } from "../../../core/events/index.js";
import { BUMP_EVENT_TYPES } from "../../ports.js";
import type { EventToPersist, PersistBatch, RoomListFacts, RoomListMembership, RoomListRoom, StreamOrdering } from "../../ports.js";
import { chunks, exec, num, placeholders, query, str, strOrNull, valuesList, type Row, type SqlValue, type UnitOfWork } from "../uow.js";


const FACT_KEYS = ["m.room.create", "m.room.encryption", "m.room.name", "m.room.tombstone"] as const;
const NO_FACTS: RoomListFacts = { roomType: null, encrypted: false, name: null, tombstoneSuccessor: null };

const stringField = (content: JsonObject | undefined, key: string): string | null => {
  const v = content?.[key];
  return typeof v === "string" ? v : null;
};

/** The list's facts of the rooms' current state; rooms with no current state are absent. */
function* currentFacts(roomIds: readonly RoomId[]): UnitOfWork<Map<RoomId, RoomListFacts>> {
  const out = new Map<RoomId, RoomListFacts>();
  for (const part of chunks([...new Set(roomIds)], 200)) {
    if (part.length === 0) continue;
    const rows = yield* query(
      `SELECT c.room_id, c.type, e.json FROM current_state_events c JOIN events e ON e.event_id = c.event_id
       WHERE c.room_id IN ${placeholders(part.length)} AND c.state_key = '' AND c.type IN ${placeholders(FACT_KEYS.length)}`,
      ...part, ...FACT_KEYS,
    );
    const facts = new Map<RoomId, { -readonly [K in keyof RoomListFacts]: RoomListFacts[K] }>();
    for (const r of rows) {
      const roomId = str(r["room_id"]) as RoomId;
      let f = facts.get(roomId);
      if (!f) facts.set(roomId, (f = { ...NO_FACTS }));
      const content = (JSON.parse(str(r["json"])) as JsonObject)["content"] as JsonObject | undefined;
      switch (str(r["type"])) {
        case "m.room.create": f.roomType = stringField(content, "type"); break;
        case "m.room.encryption": f.encrypted = true; break;
        case "m.room.name": f.name = stringField(content, "name"); break;
        case "m.room.tombstone": f.tombstoneSuccessor = stringField(content, "replacement_room") as RoomId | null; break;
      }
    }
    // A room with current state but none of these keys (a partial-state room, say) still has facts: none.
    const held = yield* query(`SELECT DISTINCT room_id FROM current_state_events WHERE room_id IN ${placeholders(part.length)}`, ...part);
    for (const r of held) {
      const roomId = str(r["room_id"]) as RoomId;
      out.set(roomId, facts.get(roomId) ?? NO_FACTS);
    }
  }
  return out;
}

const factsOf = (r: Row): RoomListFacts => ({
  roomType: strOrNull(r["room_type"]),
  encrypted: num(r["is_encrypted"]) === 1,
  name: strOrNull(r["room_name"]),
  tombstoneSuccessor: strOrNull(r["tombstone_successor"]) as RoomId | null,
});

/**
 * Step 8c of persisting a batch, after current state and memberships are written: moves the rooms' activity and
 * bump stamps forward by the batch's visible forward events, refreshes the facts of rooms whose state changed, and
 * snapshots the memberships of local users the batch changed (those at `statePosition`).
 */
export function* updateRoomList(
  batch: PersistBatch, writes: readonly EventToPersist[], orderings: ReadonlyMap<EventId, StreamOrdering>, statePosition: StreamOrdering,
): UnitOfWork<void> {
  const moved = new Map<RoomId, { activity: StreamOrdering; bump: StreamOrdering }>();
  for (const e of writes) {
    if (e.outlier || e.backfilled || e.rejectionReason || e.softFailed) continue;
    const o = orderings.get(e.pdu.eventId);
    if (o === undefined || o <= 0) continue;
    const m = moved.get(e.pdu.roomId) ?? { activity: 0, bump: 0 };
    m.activity = Math.max(m.activity, o);
    if (BUMP_EVENT_TYPES.includes(e.pdu.type)) m.bump = Math.max(m.bump, o);
    moved.set(e.pdu.roomId, m);
  }
  const stateRooms = [...new Set((batch.state ?? []).map((d) => d.roomId))];
  const rooms = [...new Set([...moved.keys(), ...stateRooms])];
  if (rooms.length === 0 && (batch.outOfBand?.length ?? 0) === 0) return;
  const facts = yield* currentFacts(stateRooms);

  for (const part of chunks(rooms, 200)) {
    const existing = new Map<RoomId, Row>();
    for (const r of yield* query(`SELECT * FROM room_list_rooms WHERE room_id IN ${placeholders(part.length)}`, ...part)) existing.set(str(r["room_id"]) as RoomId, r);
    const rows: SqlValue[][] = [];
    for (const roomId of part) {
      const old = existing.get(roomId);
      const m = moved.get(roomId);
      const f = facts.get(roomId) ?? (old ? factsOf(old) : NO_FACTS);
      const activity = Math.max(old ? num(old["stream_ordering"]) : 0, m?.activity ?? 0);
      const bump = Math.max(old ? num(old["bump_stamp"]) : 0, m?.bump ?? 0);
      rows.push([roomId, activity, bump, f.roomType, f.encrypted ? 1 : 0, f.name, f.tombstoneSuccessor]);
    }
    yield* exec(
      `INSERT INTO room_list_rooms (room_id, stream_ordering, bump_stamp, room_type, is_encrypted, room_name, tombstone_successor) VALUES ${valuesList(rows.length, 7)}
       ON CONFLICT (room_id) DO UPDATE SET stream_ordering = excluded.stream_ordering, bump_stamp = excluded.bump_stamp, room_type = excluded.room_type,
         is_encrypted = excluded.is_encrypted, room_name = excluded.room_name, tombstone_successor = excluded.tombstone_successor`,
      ...rows.flat(),
    );
  }

  // Membership snapshots: the local users' memberships this batch wrote (those at its state position), with the
  // room's facts now. Only the users whose member state the batch names are looked at (a whole room when a delta
  // replaces its state), so a join to a large room costs one row, not a scan of its members.
  const named = new Map<RoomId, Set<string> | "all">();
  for (const d of batch.state ?? []) {
    if (d.replace) named.set(d.roomId, "all");
    const users = named.get(d.roomId) ?? new Set<string>();
    if (users === "all") continue;
    for (const k of [...d.set.keys(), ...(d.remove ?? [])]) {
      const { type, stateKey } = splitStateKey(k);
      if (type === "m.room.member") users.add(stateKey);
    }
    if (users.size > 0) named.set(d.roomId, users);
  }
  for (const m of batch.outOfBand ?? []) {
    const users = named.get(m.roomId) ?? new Set<string>();
    if (users !== "all") named.set(m.roomId, users.add(m.userId));
  }
  for (const [roomId, users] of named) for (const part of users === "all" ? [null] : chunks([...users], 500)) {
    const who = part ?? [];
    const userFilter = (alias: string) => (part === null ? "" : ` AND ${alias}user_id IN ${placeholders(who.length)}`);
    const changed = yield* query(
      `SELECT m.room_id, m.user_id, m.membership, m.event_id, e.sender, m.stream_ordering FROM current_memberships m
       JOIN users u ON u.user_id = m.user_id LEFT JOIN events e ON e.event_id = m.event_id
       WHERE m.room_id = ?${userFilter("m.")} AND m.stream_ordering = ?`,
      roomId, ...who, statePosition,
    );
    const f = changed.length === 0 ? undefined : facts.get(roomId) ?? (yield* currentFacts([roomId])).get(roomId);
    const rows: SqlValue[][] = changed.map((r) => [
      roomId, str(r["user_id"]), str(r["membership"]), str(r["event_id"]), strOrNull(r["sender"]), num(r["stream_ordering"]), f ? 1 : 0,
      f?.roomType ?? null, f?.encrypted ? 1 : 0, f?.name ?? null, f?.tombstoneSuccessor ?? null,
    ]);
    for (const p of chunks(rows, 80)) {
      yield* exec(
        `INSERT INTO room_list_memberships (room_id, user_id, membership, event_id, sender, stream_ordering, state_known, room_type, is_encrypted, room_name, tombstone_successor)
         VALUES ${valuesList(p.length, 11)}
         ON CONFLICT (user_id, room_id) DO UPDATE SET membership = excluded.membership, event_id = excluded.event_id, sender = excluded.sender,
           stream_ordering = excluded.stream_ordering, state_known = excluded.state_known, room_type = excluded.room_type,
           is_encrypted = excluded.is_encrypted, room_name = excluded.room_name, tombstone_successor = excluded.tombstone_successor`,
        ...p.flat(),
      );
    }
    // A membership the batch removed from current state (a state reset) takes its snapshot with it.
    yield* exec(
      `DELETE FROM room_list_memberships WHERE room_id = ?${userFilter("")}
       AND NOT EXISTS (SELECT 1 FROM current_memberships m WHERE m.room_id = room_list_memberships.room_id AND m.user_id = room_list_memberships.user_id)`,
      roomId, ...who,
    );
  }
}

/** Per room, its room-list row; rooms without one are absent. */
export function* roomListRoomsWork(roomIds: readonly RoomId[]): UnitOfWork<Map<RoomId, RoomListRoom>> {
  const out = new Map<RoomId, RoomListRoom>();
  for (const part of chunks([...new Set(roomIds)])) {
    if (part.length === 0) continue;
    for (const r of yield* query(`SELECT * FROM room_list_rooms WHERE room_id IN ${placeholders(part.length)}`, ...part)) {
      out.set(str(r["room_id"]) as RoomId, { ...factsOf(r), activity: num(r["stream_ordering"]), bumpStamp: num(r["bump_stamp"]) });
    }
  }
  return out;
}

/** Per room, the user's membership snapshot; rooms without one are absent. */
export function* roomListMembershipsWork(userId: UserId, roomIds: readonly RoomId[]): UnitOfWork<Map<RoomId, RoomListMembership>> {
  const out = new Map<RoomId, RoomListMembership>();
  for (const part of chunks([...new Set(roomIds)])) {
    if (part.length === 0) continue;
    for (const r of yield* query(`SELECT * FROM room_list_memberships WHERE user_id = ? AND room_id IN ${placeholders(part.length)}`, userId, ...part)) {
      out.set(str(r["room_id"]) as RoomId, {
        membership: str(r["membership"]), eventId: str(r["event_id"]) as EventId, sender: strOrNull(r["sender"]) as UserId | null,
        streamOrdering: num(r["stream_ordering"]), state: num(r["state_known"]) === 1 ? factsOf(r) : null,
      });
    }
  }
  return out;
}
