/** What sliding sync reads and writes: /sync's stores and the connection-state store (migration 0013). */
import type { Storage } from "../../storage/ports.js";
import type { SyncStorage } from "../rooms-provider.js";

export type SlidingStorage = SyncStorage & Pick<Storage, "slidingSync">;
