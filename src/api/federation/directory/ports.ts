/**
 * The room directory the federation directory endpoints read: aliases and the published-rooms list.
 * `localRoomDirectory` (local-directory.ts) is this server's, over the client API's storage; `emptyRoomDirectory`
 * (no alias, nothing published) serves tests and servers without rooms.
 */
import type { RoomAlias, RoomId, ServerName } from "../../../core/ids/index.js";
import type { JsonObject } from "../../../core/json/types.js";

export interface AliasRecord {
  readonly roomId: RoomId;
  /** Servers likely to be in the room (this server first). */
  readonly servers: readonly ServerName[];
}

/** One entry of a /publicRooms chunk (the spec's PublishedRoomsChunk), built by the directory from current state. */
export type PublicRoomEntry = JsonObject & { readonly room_id: string; readonly num_joined_members: number; readonly world_readable: boolean; readonly guest_can_join: boolean };

export interface PublicRoomsQuery {
  /** At most this many entries (the route caps it). */
  readonly limit: number;
  /** An opaque token from a previous page's next_batch / prev_batch. */
  readonly since?: string;
  readonly genericSearchTerm?: string;
  /** Room types to include (null: rooms without a type). Absent: all. */
  readonly roomTypes?: readonly (string | null)[];
}

export interface PublicRoomsPage {
  readonly chunk: readonly PublicRoomEntry[];
  readonly nextBatch?: string;
  readonly prevBatch?: string;
  readonly totalRoomCountEstimate: number;
}

export interface RoomDirectory {
  getAlias(alias: RoomAlias): Promise<AliasRecord | null>;
  /** Rooms published to this server's directory, one page. A `since` the directory does not know is `null`. */
  publicRooms(q: PublicRoomsQuery): Promise<PublicRoomsPage | null>;
}

export const emptyRoomDirectory: RoomDirectory = {
  getAlias: async () => null,
  publicRooms: async () => ({ chunk: [], totalRoomCountEstimate: 0 }),
};
