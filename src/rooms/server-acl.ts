/**
 * The room's m.room.server_acl on the federation endpoints that act on a room this server holds (make_join,
 * make_leave, make_knock, send_join, send_leave, send_knock, invite):
 * https://spec.matrix.org/v1.16/server-server-api/#server-access-control-lists-acls
 * A server the current ACL denies (core/acl: the port ignored, deny before allow) is refused with 403 M_FORBIDDEN
 * naming the ACL and the rule, before the event it sends or asks for is built or checked (the make_ and send_
 * endpoints: before any key is fetched for it). A room without an ACL allows everyone.
 */
import { serverAllowedByAcl } from "../core/acl/index.js";
import { MatrixError } from "../core/errors.js";
import type { RoomId, ServerName } from "../core/ids/index.js";
import type { EventStore, RoomStore } from "../storage/ports.js";

export interface AclStores {
  readonly rooms: Pick<RoomStore, "getCurrentStateEventId">;
  readonly events: Pick<EventStore, "getPdus">;
}

export async function assertServerAllowedInRoom(stores: AclStores, roomId: RoomId, server: ServerName): Promise<void> {
  const aclId = await stores.rooms.getCurrentStateEventId(roomId, "m.room.server_acl", "");
  if (!aclId) return;
  const acl = (await stores.events.getPdus([aclId])).get(aclId);
  const verdict = serverAllowedByAcl(acl?.content, server);
  if (!verdict.allowed) throw MatrixError.forbidden(`the room's m.room.server_acl denies ${server} (${verdict.reason})`);
}
