import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RoomId, ServerName, UserId } from "../../core/ids/index.js";
import { openSqliteStorage } from "../../storage/sqlite/index.js";
import { persistTestRoom } from "../../../test/harness/persisted-room.js";
import { RoomDestinations } from "./room-destinations.js";

const ALICE = "@alice:a.test" as UserId;

describe("RoomDestinations.serversForRoom", () => {
  it("names the joined members' servers, leaving out ourselves, servers outside the whitelist, servers the room's ACL denies and servers whose members left", async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    try {
      const members = [["@b:b.test", "join"], ["@c:c.test", "join"], ["@d:denied.test", "join"], ["@e:e.test", "join"], ["@gone:gone.test", "leave"]] as const;
      const room = "!r:a.test" as RoomId;
      await persistTestRoom(storage, room, ALICE, members.map(([u, m]) => [u as UserId, m]), { allow: ["*"], deny: ["denied.test"] });
      const open = "!open:a.test" as RoomId;
      await persistTestRoom(storage, open, ALICE, [["@b:b.test" as UserId, "join"]]);
      // The whitelist (FederationSender.allowed): not ourselves, not e.test.
      const allowed = (servers: Iterable<string>) => [...new Set(servers)].filter((s) => s !== "a.test" && s !== "e.test").sort() as ServerName[];
      const d = new RoomDestinations({ storage, sender: { allowed, pdusQueued() {} } });
      assert.deepEqual(await d.serversForRoom(room), ["b.test", "c.test"]);
      assert.deepEqual(await d.serversForRoom(open), ["b.test"]);
      assert.deepEqual(await d.serversForRoom("!unknown:a.test" as RoomId), []);
    } finally {
      await storage.close();
    }
  });
});
