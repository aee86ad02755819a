/**
 * Deactivating a local account, the one way every caller does it: POST /account/deactivate (the user itself), the
 * admin API's POST /_synapse/admin/v1/deactivate and PUT /v2/users {deactivated: true} (admin/service.ts), and
 * `zion admin users deactivate` (app/admin.ts). As Synapse's deactivation:
 *
 * 1. The account is marked deactivated and loses every device, access token and refresh token (one transaction;
 *    the running server's wrapped user store also tells the other servers the devices are gone). Its name stays
 *    taken, and a login with the right password is 403 M_USER_DEACTIVATED.
 * 2. `erase`: the stored display name and avatar are cleared, so other servers' profile queries, the admin API and
 *    a reactivated account see neither (the client API's profile lookups answer 404 for a deactivated user
 *    anyway). No member event announces the cleared profile (the leaves follow, and carry none). Zion keeps no
 *    erasure mark: the user's earlier events, and its earlier member events with their display name, stay as they
 *    are for everyone, later joiners included (Synapse serves them redacted to users who join later).
 * 3. Pending invites are rejected and knocks withdrawn, then every joined room is left: each is a leave the user
 *    sends, through the room pipeline as POST /rooms/{roomId}/leave does (RoomService.setMembership), so the other
 *    members see it in /sync and a room on other servers gets it over federation; an invite or knock of a room this
 *    server does not hold is rejected through make_leave / send_leave. Synapse leaves in the background; Zion
 *    leaves before answering. A room that refuses is logged and skipped: the account is deactivated regardless.
 */
import type { UserId } from "../../../core/ids/index.js";
import type { RoomService } from "../../../rooms/index.js";
import type { RoomStore, UserStore } from "../../../storage/ports.js";
import type { RouteLog } from "../../http/index.js";

export interface DeactivationDeps {
  readonly users: UserStore;
  readonly roomStore: Pick<RoomStore, "getRoomsForUser">;
  readonly rooms: Pick<RoomService, "setMembership">;
}

/** Invites and knocks first (nobody should see an invitee who cannot answer), then the rooms the user is in. */
const LEFT_MEMBERSHIPS = ["invite", "knock", "join"] as const;

const DEACTIVATION_REASON = "account deactivated";

/** Steps 1-3; answers how many rooms were left (invites rejected and knocks withdrawn included). */
export async function deactivateAccount(deps: DeactivationDeps, userId: UserId, opts: { readonly erase: boolean }, log?: RouteLog): Promise<{ left: number }> {
  await deps.users.deactivateUser(userId);
  if (opts.erase) await deps.users.setProfile(userId, { displayname: null, avatarUrl: null });
  let left = 0;
  for (const membership of LEFT_MEMBERSHIPS) {
    for (const roomId of await deps.roomStore.getRoomsForUser(userId, membership)) {
      try {
        await deps.rooms.setMembership(roomId, userId, userId, "leave", DEACTIVATION_REASON);
        left++;
      } catch (e) {
        log?.warn({ room_id: roomId, user_id: userId, membership, err: (e as Error).message }, "deactivation: could not leave the room");
      }
    }
  }
  return { left };
}
