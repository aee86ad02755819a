/**
 * Where a room's events go: the servers of the room's joined members in current state (and, for a membership
 * event, the server of its target, so a remote user who is kicked, banned or leaves hears of it), minus ourselves,
 * minus servers that federation_enabled / federation_domain_whitelist exclude (FederationSender.allowed), minus
 * servers the room's m.room.server_acl denies (core/acl; the new ACL when the event is the ACL itself).
 * The room's EDUs (serversForRoom) go to the same servers but the membership target. While the room's state is
 * partial (joined with members omitted), send_join's servers_in_room are added.
 */
import type { Pdu } from "../../core/events/index.js";
import type { RoomId, ServerName, UserId } from "../../core/ids/index.js";
import { serverAllowedByAcl } from "../../core/acl/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { EventStore, RoomClientStore, RoomStore } from "../../storage/ports.js";
import type { FederationSender } from "./sender.js";


export const serverOf = (user: UserId | string): string => user.slice(user.indexOf(":") + 1);

export interface RoomDestinationsDeps {
  readonly storage: { readonly rooms: Pick<RoomStore, "getCurrentStateEventId" | "getPartialStateRoom">; readonly events: Pick<EventStore, "getPdus">; readonly roomClient: Pick<RoomClientStore, "getRoomMembers"> };
  readonly sender: Pick<FederationSender, "allowed" | "pdusQueued">;
}

export class RoomDestinations {
  constructor(private readonly deps: RoomDestinationsDeps) {}

  /** The destinations of `pdu`, an event about to be persisted in `roomId`. */
  async destinationsFor(roomId: RoomId, pdu: Pdu): Promise<readonly ServerName[]> {
    const extra = pdu.type === "m.room.member" && pdu.stateKey !== undefined ? [serverOf(pdu.stateKey)] : [];
    const newAcl = pdu.type === "m.room.server_acl" && pdu.stateKey === "" ? pdu.content : undefined;
    return this.servers(roomId, extra, newAcl);
  }

  /**
   * Where a room's EDUs (typing, receipts, presence) go: the servers of its joined members in current state, with
   * the same filters as its events (not ourselves, federation_domain_whitelist, the room's m.room.server_acl).
   */
  serversForRoom(roomId: RoomId): Promise<readonly ServerName[]> {
    return this.servers(roomId, [], undefined);
  }

  private async servers(roomId: RoomId, extra: readonly string[], newAcl: JsonObject | undefined): Promise<readonly ServerName[]> {
    const { storage } = this.deps;
    const servers = new Set((await storage.roomClient.getRoomMembers(roomId, "join")).map(serverOf));
    // A partial-state room (rooms/partial-state.ts): the members omitted at the join are not known yet, so the
    // servers the resident listed in servers_in_room too, until the state is complete.
    for (const s of (await storage.rooms.getPartialStateRoom(roomId))?.serversInRoom ?? []) servers.add(s);
    for (const s of extra) servers.add(s);
    const candidates = this.deps.sender.allowed(servers);
    if (candidates.length === 0) return []; // a room of local users only: no ACL to read
    let acl = newAcl;
    if (!acl) {
      const id = await storage.rooms.getCurrentStateEventId(roomId, "m.room.server_acl", "");
      if (id) acl = (await storage.events.getPdus([id])).get(id)?.content;
    }
    return candidates.filter((s) => serverAllowedByAcl(acl, s).allowed);
  }

  /** After the write committed. */
  persisted(destinations: readonly ServerName[]): void {
    this.deps.sender.pdusQueued(destinations);
  }
}
