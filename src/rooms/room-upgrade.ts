/**
 * Room upgrades (POST /rooms/{roomId}/upgrade, https://spec.matrix.org/v1.16/client-server-api/#server-behaviour-19):
 *
 * 1. checks, before anything is written: the room is known (404), the new version is one Zion knows (400
 *    M_UNSUPPORTED_ROOM_VERSION), the upgrader is joined and may send m.room.tombstone there (403 M_FORBIDDEN);
 * 2. creates the replacement room from the old room's state (core/rooms planRoomUpgrade) in one persist call;
 * 3. moves the old room's local aliases to the new room;
 * 4. sends the tombstone to the old room, then restricts its power levels (when the upgrader may change them);
 * 5. moves the published directory entry.
 *
 * Steps 2-5 touch two rooms and are several writes: a crash in between can leave a replacement room without
 * its tombstone (as in Synapse); nothing of the old room changes before the new room exists.
 */
import { PowerLevelView, creatorsOf } from "../core/auth/index.js";
import { MatrixError } from "../core/errors.js";
import { splitStateKey, stateKeyOf, type Pdu } from "../core/events/index.js";
import type { EventId, RoomId, UserId } from "../core/ids/index.js";
import type { JsonValue } from "../core/json/types.js";
import { isKnownRoomVersion, roomVersion } from "../core/room-versions/index.js";
import { planRoomUpgrade, restrictedOldPowerLevels, UPGRADE_READ_STATE, type OldStateEntry } from "../core/rooms/index.js";
import type { RoomService, RoomStorage } from "./room-service.js";

export class RoomUpgrader {
  constructor(
    private readonly rooms: RoomService,
    private readonly storage: RoomStorage,
    private readonly nowTs: () => number,
  ) {}

  async upgrade(roomId: RoomId, upgrader: UserId, newVersion: string, opts: { additionalCreators?: readonly UserId[] } = {}): Promise<RoomId> {
    const { storage } = this;
    // Step 1
    const oldRules = await this.rooms.rulesOf(roomId);
    if (!oldRules) throw MatrixError.notFound(`unknown room ${roomId}`);
    if (!isKnownRoomVersion(newVersion)) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", 400, `new_version: this server does not support room version ${JSON.stringify(newVersion)}`);
    const rules = roomVersion(newVersion);
    if ((await this.rooms.membership(roomId, upgrader)) !== "join") throw MatrixError.forbidden(`${upgrader} is not joined to ${roomId}`);
    const current = await storage.rooms.getCurrentState(roomId);
    const wanted = [...current].filter(([k]) => {
      const { type, stateKey } = splitStateKey(k);
      return (stateKey === "" && (UPGRADE_READ_STATE.includes(type) || type === "m.room.create")) || type === "m.space.child" || type === "m.room.member";
    });
    // Member events: only the bans are read (current_memberships knows who is banned).
    const banned = new Set<string>(await storage.roomClient.getRoomMembers(roomId, "ban"));
    const ids = wanted.filter(([k]) => {
      const { type, stateKey } = splitStateKey(k);
      return type !== "m.room.member" || banned.has(stateKey);
    });
    const pdus = await storage.events.getPdus(ids.map(([, id]) => id));
    const byKey = (type: string, key = ""): Pdu | undefined => {
      const id = current.get(stateKeyOf(type, key));
      return id ? pdus.get(id) : undefined;
    };
    const create = byKey("m.room.create");
    const pl = byKey("m.room.power_levels");
    const view = new PowerLevelView(pl, create, oldRules);
    const needed = view.requiredLevel("m.room.tombstone", true);
    if (view.userLevel(upgrader) < needed) throw MatrixError.forbidden(`upgrading ${roomId} needs power level ${needed} (to send m.room.tombstone); ${upgrader} has ${view.userLevel(upgrader)}`);

    // Step 2
    const oldState: OldStateEntry[] = ids
      .map(([, id]) => pdus.get(id))
      .filter((p): p is Pdu => p !== undefined && p.stateKey !== undefined && p.type !== "m.room.create")
      .map((p) => ({ type: p.type, stateKey: p.stateKey!, content: p.content }));
    const extremities = await storage.rooms.getForwardExtremities(roomId);
    const profile = await storage.users.getProfile(upgrader);
    const upgraderProfile: Record<string, JsonValue> = {};
    if (profile?.displayname) upgraderProfile["displayname"] = profile.displayname;
    if (profile?.avatarUrl) upgraderProfile["avatar_url"] = profile.avatarUrl;
    const plan = planRoomUpgrade({
      rules,
      upgrader,
      upgraderProfile,
      oldRoomId: roomId,
      lastEventId: extremities[extremities.length - 1] ?? (create?.eventId as EventId),
      oldCreateContent: create?.content ?? {},
      oldPrivilegedCreators: oldRules.auth.privilegedCreators ? ([...creatorsOf(create, oldRules)] as UserId[]) : [],
      oldState,
      ...(opts.additionalCreators ? { additionalCreators: opts.additionalCreators } : {}),
    });
    const newRoomId = await this.rooms.createFromPlan(upgrader, plan);

    // Step 3
    const now = this.nowTs();
    for (const alias of await storage.roomClient.getAliasesForRoom(roomId)) {
      const record = await storage.roomClient.getAlias(alias);
      if (!record) continue;
      await storage.roomClient.deleteAlias(alias);
      await storage.roomClient.createAlias({ alias, roomId: newRoomId, creator: record.creator }, now);
    }

    // Step 4
    await this.rooms.send(roomId, { type: "m.room.tombstone", stateKey: "", sender: upgrader, content: { body: "This room has been replaced", replacement_room: newRoomId } });
    if (pl && view.userLevel(upgrader) >= view.requiredLevel("m.room.power_levels", true)) {
      await this.rooms.send(roomId, { type: "m.room.power_levels", stateKey: "", sender: upgrader, content: restrictedOldPowerLevels(pl.content) }).catch((e: unknown) => {
        if (!(e instanceof MatrixError && e.errcode === "M_FORBIDDEN")) throw e;
      });
    }

    // Step 5
    if (await storage.roomClient.isPublished(roomId)) {
      await storage.roomClient.setPublished(newRoomId, true, now);
      await storage.roomClient.setPublished(roomId, false, now);
    }
    return newRoomId;
  }
}
