/** Federation directory endpoints. This file only lists routes. */
import { getPublicRooms, postPublicRooms } from "./public-rooms.js";
import { queryDirectory } from "./query-directory.js";

export type { DirectoryDeps } from "./query-directory.js";
export type { PublicRoomsDeps } from "./public-rooms.js";
export { localRoomDirectory } from "./local-directory.js";
export { emptyRoomDirectory, type RoomDirectory, type AliasRecord, type PublicRoomEntry, type PublicRoomsPage, type PublicRoomsQuery } from "./ports.js";
export const directoryRoutes = [queryDirectory, getPublicRooms, postPublicRooms];
