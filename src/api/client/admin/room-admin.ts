/**
 * The admin API's room management (Synapse's docs/admin_api/rooms.md): the room list, blocking, and deleting a room
 * (its local users leave, its aliases and directory entry go, then everything this server holds of it is purged).
 * Shared by the routes beside this file and by `zion admin rooms` (cli/admin.ts).
 */
import { randomUUID } from "node:crypto";
import { MatrixError } from "../../../core/errors.js";
import { serverOfUserId, type RoomId, type UserId } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/index.js";
import type { AdminRoomSummary } from "../../../storage/ports.js";
import type { RouteLog } from "../../http/index.js";
import { parseCreateRoomRequest } from "../../../core/rooms/index.js";
import { boolParam, dirParam, intParam, type AdminDeps } from "./service.js";

// --- the room list ------------------------------------------------------------------------------------------------

/** A room as GET /_synapse/admin/v1/rooms lists it (Synapse's fields). */
export interface AdminRoomEntry {
  readonly room_id: RoomId;
  readonly name: string | null;
  readonly canonical_alias: string | null;
  readonly joined_members: number;
  readonly joined_local_members: number;
  readonly version: string;
  readonly creator: UserId;
  readonly encryption: string | null;
  readonly federatable: boolean;
  readonly public: boolean;
  readonly join_rules: string | null;
  readonly guest_access: string | null;
  readonly history_visibility: string | null;
  readonly state_events: number;
  readonly room_type: string | null;
}

const text = (content: JsonObject | undefined, field: string): string | null => {
  const v = content?.[field];
  return typeof v === "string" ? v : null;
};

export function roomEntry(r: AdminRoomSummary): AdminRoomEntry {
  const c = (type: string) => r.state.get(type);
  return {
    room_id: r.roomId,
    name: text(c("m.room.name"), "name"),
    canonical_alias: text(c("m.room.canonical_alias"), "alias"),
    joined_members: r.joinedMembers,
    joined_local_members: r.joinedLocalMembers,
    version: r.roomVersion,
    creator: r.creator,
    encryption: text(c("m.room.encryption"), "algorithm"),
    federatable: c("m.room.create")?.["m.federate"] !== false,
    public: r.published,
    join_rules: text(c("m.room.join_rules"), "join_rule"),
    guest_access: text(c("m.room.guest_access"), "guest_access"),
    history_visibility: text(c("m.room.history_visibility"), "history_visibility"),
    state_events: r.stateEvents,
    room_type: text(c("m.room.create"), "type"),
  };
}

type SortKey = keyof AdminRoomEntry;

/**
 * order_by values and the field they sort by. Synapse sorts the counts biggest first when `dir` is `f` (its
 * "size" semantics); the others ascending.
 */
const ROOM_ORDER: Readonly<Record<string, { readonly key: SortKey; readonly descending: boolean }>> = {
  name: { key: "name", descending: false },
  alphabetical: { key: "name", descending: false },
  canonical_alias: { key: "canonical_alias", descending: false },
  joined_members: { key: "joined_members", descending: true },
  size: { key: "joined_members", descending: true },
  joined_local_members: { key: "joined_local_members", descending: true },
  state_events: { key: "state_events", descending: true },
  version: { key: "version", descending: false },
  creator: { key: "creator", descending: false },
  encryption: { key: "encryption", descending: false },
  federatable: { key: "federatable", descending: false },
  public: { key: "public", descending: false },
  join_rules: { key: "join_rules", descending: false },
  guest_access: { key: "guest_access", descending: false },
  history_visibility: { key: "history_visibility", descending: false },
};

export interface RoomListParams {
  readonly from?: string | undefined;
  readonly limit?: string | undefined;
  readonly order_by?: string | undefined;
  readonly dir?: string | undefined;
  readonly search_term?: string | undefined;
  readonly public_rooms?: string | undefined;
  readonly empty_rooms?: string | undefined;
}

export interface RoomListQuery {
  readonly from: number;
  readonly limit: number;
  readonly order: { readonly key: SortKey; readonly descending: boolean };
  readonly searchTerm?: string | undefined;
  readonly publicRooms?: boolean | undefined;
  readonly emptyRooms?: boolean | undefined;
}

/** The query of GET /_synapse/admin/v1/rooms, checked (400 M_INVALID_PARAM naming the parameter). */
export function roomListQuery(p: RoomListParams): RoomListQuery {
  const base = ROOM_ORDER[p.order_by ?? "name"];
  if (!base) throw new MatrixError("M_INVALID_PARAM", 400, `order_by: unknown value; one of ${Object.keys(ROOM_ORDER).join(", ")}`);
  const limit = intParam(p.limit, "limit", 100);
  if (limit < 1 || limit > 1000) throw new MatrixError("M_INVALID_PARAM", 400, "limit: must be between 1 and 1000");
  if (p.search_term !== undefined && (p.search_term === "" || p.search_term.length > 255)) {
    throw new MatrixError("M_INVALID_PARAM", 400, "search_term: must be 1 to 255 characters");
  }
  const backwards = dirParam(p.dir) === "b";
  return {
    from: intParam(p.from, "from", 0),
    limit,
    order: { key: base.key, descending: base.descending !== backwards },
    searchTerm: p.search_term,
    publicRooms: boolParam(p.public_rooms, "public_rooms"),
    emptyRooms: boolParam(p.empty_rooms, "empty_rooms"),
  };
}

/** Nulls last going up, first going down (PostgreSQL's order, which Synapse's answers show); ties by room id. */
function compare(a: AdminRoomEntry, b: AdminRoomEntry, order: RoomListQuery["order"]): number {
  const x = a[order.key];
  const y = b[order.key];
  let c = 0;
  if (x === null || y === null) c = x === y ? 0 : x === null ? 1 : -1;
  else if (typeof x === "number" && typeof y === "number") c = x - y;
  else if (typeof x === "boolean" && typeof y === "boolean") c = Number(x) - Number(y);
  else c = String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
  if (c === 0) c = a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0;
  return order.descending ? -c : c;
}

/**
 * GET /_synapse/admin/v1/rooms: one page of the rooms this server holds. `search_term` is a case-insensitive
 * substring of the name or canonical alias, or the exact room id (as in Synapse).
 */
export async function listRooms(deps: Pick<AdminDeps, "admin" | "serverName">, q: RoomListQuery) {
  const term = q.searchTerm?.toLowerCase();
  const all = (await deps.admin.roomSummaries(deps.serverName)).map(roomEntry).filter((r) =>
    (term === undefined || r.room_id === q.searchTerm || (r.name?.toLowerCase().includes(term) ?? false) || (r.canonical_alias?.toLowerCase().includes(term) ?? false)) &&
    (q.publicRooms === undefined || r.public === q.publicRooms) &&
    (q.emptyRooms === undefined || (r.joined_members === 0) === q.emptyRooms));
  all.sort((a, b) => compare(a, b, q.order));
  const rooms = all.slice(q.from, q.from + q.limit);
  return {
    rooms,
    offset: q.from,
    total_rooms: all.length,
    ...(q.from + rooms.length < all.length ? { next_batch: q.from + rooms.length } : {}),
    ...(q.from > 0 ? { prev_batch: Math.max(0, q.from - q.limit) } : {}),
  };
}

// --- blocking -----------------------------------------------------------------------------------------------------

/** GET /_synapse/admin/v1/rooms/{roomId}/block: `{block, user_id?}`; a room need not be known to be blocked. */
export async function roomBlockStatus(deps: Pick<AdminDeps, "admin">, roomId: RoomId) {
  const block = await deps.admin.getRoomBlock(roomId);
  if (!block) return { block: false };
  return block.userId === null ? { block: true } : { block: true, user_id: block.userId };
}

/** PUT /_synapse/admin/v1/rooms/{roomId}/block `{block}`. */
export async function setRoomBlock(deps: Pick<AdminDeps, "admin" | "clock">, admin: UserId | null, roomId: RoomId, block: boolean) {
  if (block) await deps.admin.blockRoom(roomId, admin, deps.clock.now());
  else await deps.admin.unblockRoom(roomId);
  return { block };
}

// --- deletion -----------------------------------------------------------------------------------------------------

export interface RoomDeletion {
  /** A local user who creates a room the evicted users are moved to, with `message` in it. */
  readonly newRoomUserId?: UserId | undefined;
  readonly roomName?: string | undefined;
  readonly message?: string | undefined;
  readonly block?: boolean | undefined;
  /** Default true: everything this server holds of the room is deleted once its local users are out. */
  readonly purge?: boolean | undefined;
  /** Purge even when some local users could not be made to leave. */
  readonly forcePurge?: boolean | undefined;
}

/** What a deletion did, as Synapse's `shutdown_room`. */
export type ShutdownResult = {
  kicked_users: UserId[];
  failed_to_kick_users: UserId[];
  local_aliases: string[];
  new_room_id: RoomId | null;
};

const DEFAULT_ROOM_NAME = "Content Violation Notification";
const DEFAULT_MESSAGE = "Sharing illegal content on this server is not permitted and rooms in violation will be blocked.";

/**
 * Deletes a room as Synapse's DELETE /_synapse/admin/v1/rooms/{roomId}: optionally blocks it; every local member
 * (joined, invited or knocking) leaves it (an invite is rejected) and forgets it; with `new_room_user_id` those who
 * were joined are moved to a new room where that user posts `message`; its aliases (all local: room_aliases holds
 * only this server's) are deleted, or moved to the new room; it leaves
 * the directory; then, with `purge` (the default), everything this server holds of it is deleted — refused while
 * a local user is still in it, unless `force_purge`. An unknown room can only be blocked (404 otherwise).
 * `admin`: who asks (null for `zion admin`). `onPhase` reports "shutting_down" and "purging" for the asynchronous API.
 */
export async function deleteRoom(deps: AdminDeps, admin: UserId | null, roomId: RoomId, d: RoomDeletion, log?: RouteLog, onPhase?: (phase: "shutting_down" | "purging") => void): Promise<ShutdownResult> {
  const known = (await deps.roomStore.getRoom(roomId)) !== null;
  if (!known && !d.block) throw MatrixError.notFound(`Unknown room: ${roomId}`);
  if (d.newRoomUserId !== undefined) {
    if (serverOfUserId(d.newRoomUserId) !== deps.serverName) throw new MatrixError("M_INVALID_PARAM", 400, `new_room_user_id: ${d.newRoomUserId} is not a user of ${deps.serverName}`);
    if (!(await deps.users.getUser(d.newRoomUserId))) throw MatrixError.notFound(`new_room_user_id: unknown user ${d.newRoomUserId}`);
  }
  if (d.block) await deps.admin.blockRoom(roomId, admin, deps.clock.now());
  const result: ShutdownResult = { kicked_users: [], failed_to_kick_users: [], local_aliases: [], new_room_id: null };
  if (!known) return result;
  onPhase?.("shutting_down");

  const local = (u: string) => serverOfUserId(u as UserId) === deps.serverName;
  const joined = (await deps.roomClient.getRoomMembers(roomId, "join")).filter(local);
  const pending = [
    ...(await deps.roomClient.getRoomMembers(roomId, "invite")).filter(local),
    ...(await deps.roomClient.getRoomMembers(roomId, "knock")).filter(local),
  ];
  if (d.newRoomUserId !== undefined && joined.length > 0) {
    const request = parseCreateRoomRequest({ preset: "public_chat", name: d.roomName ?? DEFAULT_ROOM_NAME, power_level_content_override: { users_default: -10 } }, d.newRoomUserId, { defaultRoomVersion: deps.defaultRoomVersion });
    result.new_room_id = await deps.rooms.createRoom(d.newRoomUserId, request);
    await deps.rooms.send(result.new_room_id, { type: "m.room.message", sender: d.newRoomUserId, content: { msgtype: "m.text", body: d.message ?? DEFAULT_MESSAGE } });
  }
  for (const userId of [...joined, ...pending]) {
    try {
      await deps.rooms.setMembership(roomId, userId, userId, "leave", "This room has been deleted by a server administrator");
      await deps.rooms.forget(roomId, userId);
      if (joined.includes(userId)) {
        result.kicked_users.push(userId);
        if (result.new_room_id && userId !== d.newRoomUserId) await deps.rooms.join(result.new_room_id, userId);
      }
    } catch (e) {
      if (joined.includes(userId)) result.failed_to_kick_users.push(userId);
      log?.warn({ room_id: roomId, user_id: userId, err: (e as Error).message }, "room deletion: could not make the user leave");
    }
  }
  // The room's local aliases are deleted, or moved to the new room when there is one (Synapse's local_aliases).
  for (const alias of await deps.roomClient.getAliasesForRoom(roomId)) {
    const record = await deps.roomClient.getAlias(alias);
    await deps.roomClient.deleteAlias(alias);
    if (result.new_room_id && record) await deps.roomClient.createAlias({ ...record, roomId: result.new_room_id }, deps.clock.now());
    result.local_aliases.push(alias);
  }
  await deps.roomClient.setPublished(roomId, false, deps.clock.now());

  if (d.purge ?? true) {
    const still = (await deps.roomClient.getRoomMembers(roomId, "join")).filter(local);
    if (still.length > 0 && !d.forcePurge) {
      throw new MatrixError("M_UNKNOWN", 400, `Cannot purge ${roomId}: local users are still joined (${still.join(", ")}); use force_purge`);
    }
    onPhase?.("purging");
    const report = await deps.rooms.purge(roomId);
    log?.info({ room_id: roomId, admin, purged_rows: report }, "room purged");
  }
  return result;
}

// --- the asynchronous deletions of /v2 ----------------------------------------------------------------------------

export type DeletionStatus = "scheduled" | "shutting_down" | "purging" | "complete" | "failed";

export interface DeletionRecord {
  readonly delete_id: string;
  readonly room_id: RoomId;
  status: DeletionStatus;
  error?: string;
  shutdown_room: ShutdownResult;
}

/** How long finished deletions stay queryable (Synapse keeps them for a week in memory; a day is enough here). */
const KEEP_FINISHED_MS = 24 * 60 * 60 * 1000;

/**
 * The deletions of DELETE /_synapse/admin/v2/rooms/{roomId}, run one after another per room in the background and
 * queryable by delete id or room. Held in this process's memory as Synapse does (a restart forgets the statuses,
 * not the effects).
 */
export class RoomDeletions {
  private readonly byId = new Map<string, DeletionRecord & { finishedTs?: number }>();

  /** `deps` is read when a deletion starts (the composition root builds it after this). */
  constructor(private readonly depsOf: () => AdminDeps) {}

  /** Starts a deletion; 400 M_UNKNOWN while another deletion of the room has not finished. */
  start(admin: UserId, roomId: RoomId, d: RoomDeletion, log?: RouteLog): string {
    this.sweep();
    for (const r of this.byId.values()) {
      if (r.room_id === roomId && r.status !== "complete" && r.status !== "failed") {
        throw new MatrixError("M_UNKNOWN", 400, `History purge already in progress for ${roomId}`);
      }
    }
    const record: DeletionRecord & { finishedTs?: number } = {
      delete_id: randomUUID().replaceAll("-", ""),
      room_id: roomId,
      status: "scheduled",
      shutdown_room: { kicked_users: [], failed_to_kick_users: [], local_aliases: [], new_room_id: null },
    };
    this.byId.set(record.delete_id, record);
    void (async () => {
      try {
        record.shutdown_room = await deleteRoom(this.depsOf(), admin, roomId, d, log, (phase) => { record.status = phase; });
        record.status = "complete";
      } catch (e) {
        record.status = "failed";
        record.error = (e as Error).message;
        log?.warn({ room_id: roomId, delete_id: record.delete_id, err: record.error }, "room deletion failed");
      } finally {
        record.finishedTs = this.depsOf().clock.now();
      }
    })();
    return record.delete_id;
  }

  get(deleteId: string): DeletionRecord {
    this.sweep();
    const r = this.byId.get(deleteId);
    if (!r) throw MatrixError.notFound(`delete id not found: ${deleteId}`);
    return r;
  }

  forRoom(roomId: RoomId): DeletionRecord[] {
    this.sweep();
    const out = [...this.byId.values()].filter((r) => r.room_id === roomId);
    if (out.length === 0) throw MatrixError.notFound(`No delete task for room_id ${roomId}`);
    return out;
  }

  private sweep(): void {
    const now = this.depsOf().clock.now();
    for (const [id, r] of this.byId) if (r.finishedTs !== undefined && now - r.finishedTs > KEEP_FINISHED_MS) this.byId.delete(id);
  }
}

/** A deletion as the status endpoints answer it. */
export function deletionJson(r: DeletionRecord) {
  return { delete_id: r.delete_id, status: r.status, ...(r.error !== undefined ? { error: r.error } : {}), shutdown_room: r.shutdown_room };
}

/** What the asynchronous deletion routes need besides the admin work. */
export interface RoomAdminDeps extends AdminDeps {
  readonly roomDeletions: RoomDeletions;
}
