/**
 * Every /_matrix/client route (but /versions, in api/public) and the Synapse admin registration endpoint. This
 * file only lists routes. Each v3 route is also served under r0, as Synapse still does.
 */
import type { Route } from "../http/index.js";
import { changePassword } from "./account/password.js";
import { deactivateAccount } from "./account/deactivate.js";
import { whoami } from "./account/whoami.js";
import { getRegisterNonce } from "./admin/register-nonce.js";
import { registerWithSharedSecret } from "./admin/register-with-secret.js";
import type { AccountDeps, ReportDeps, RoomDeps, SyncDeps, UserDataDeps } from "./deps.js";
import { reportEvent } from "./reports/report-event.js";
import { reportRoom } from "./reports/report-room.js";
import { getTags } from "./tags/get-tags.js";
import { getHierarchy, type HierarchyDeps } from "./spaces/hierarchy.js";
import { addThreepid } from "./threepids/add.js";
import { bindThreepid } from "./threepids/bind.js";
import { postThreepid } from "./threepids/post-threepid.js";
import { deleteThreepid } from "./threepids/delete.js";
import { unbindThreepid } from "./threepids/unbind.js";
import { requestAccountEmailToken } from "./threepids/account-email-token.js";
import { requestAccountMsisdnToken } from "./threepids/account-msisdn-token.js";
import { requestRegisterEmailToken } from "./threepids/register-email-token.js";
import { requestRegisterMsisdnToken } from "./threepids/register-msisdn-token.js";
import { requestPasswordEmailToken } from "./threepids/password-email-token.js";
import { requestPasswordMsisdnToken } from "./threepids/password-msisdn-token.js";
import { putTag } from "./tags/put-tag.js";
import { deleteTag } from "./tags/delete-tag.js";
import { sync } from "./sync/sync.js";
import { slidingSync } from "./sync/sliding-sync.js";
import { putTyping } from "./typing/put-typing.js";
import { postReceipt } from "./receipts/post-receipt.js";
import { postReadMarkers } from "./receipts/read-markers.js";
import { getPresence } from "./presence/get-status.js";
import { putPresence } from "./presence/put-status.js";
import { getGlobalPushRules, getPushRules } from "./push-rules/get-rules.js";
import { deletePushRuleRoute, getPushRuleRoute, putPushRuleRoute } from "./push-rules/rule.js";
import { pushRuleActionsRoutes, pushRuleEnabledRoutes } from "./push-rules/rule-attributes.js";
import { serverVersion } from "./admin/server-version.js";
import { listUsersRoute } from "./admin/list-users.js";
import { getUserRoute } from "./admin/get-user.js";
import { putUserRoute } from "./admin/put-user.js";
import { deactivateUserRoute } from "./admin/deactivate-user.js";
import { getAdminRoute } from "./admin/get-admin.js";
import { putAdminRoute } from "./admin/put-admin.js";
import { resetPasswordRoute } from "./admin/reset-password.js";
import { whoisRoute } from "./admin/whois.js";
import { listRegistrationTokensRoute } from "./admin/list-registration-tokens.js";
import { createRegistrationTokenRoute } from "./admin/create-registration-token.js";
import { getRegistrationTokenRoute } from "./admin/get-registration-token.js";
import { updateRegistrationTokenRoute } from "./admin/update-registration-token.js";
import { deleteRegistrationTokenRoute } from "./admin/delete-registration-token.js";
import { getRoomRoute } from "./admin/get-room.js";
import { getRoomMembersRoute } from "./admin/get-room-members.js";
import { getRoomStateRoute } from "./admin/get-room-state.js";
import { listRoomsRoute } from "./admin/list-rooms.js";
import { getRoomBlockRoute } from "./admin/get-room-block.js";
import { putRoomBlockRoute } from "./admin/put-room-block.js";
import { deleteRoomRoute } from "./admin/delete-room.js";
import { deleteRoomV2Route } from "./admin/delete-room-v2.js";
import { roomDeleteStatusRoute } from "./admin/room-delete-status.js";
import { deleteStatusRoute } from "./admin/delete-status.js";
import type { RoomAdminDeps } from "./admin/room-admin.js";
import { listUserMediaRoute } from "./admin/list-user-media.js";
import { deleteUserMediaRoute } from "./admin/delete-user-media.js";
import { quarantineUserMediaRoute } from "./admin/quarantine-user-media.js";
import { getMediaRoute } from "./admin/get-media.js";
import { quarantineMediaRoute } from "./admin/quarantine-media.js";
import { unquarantineMediaRoute } from "./admin/unquarantine-media.js";
import { deleteMediaRoute } from "./admin/delete-media.js";
import { listDestinationsRoute } from "./admin/list-destinations.js";
import { getDestinationRoute } from "./admin/get-destination.js";
import { destinationRoomsRoute } from "./admin/destination-rooms.js";
import { resetDestinationRoute } from "./admin/reset-destination.js";
import { createRoom } from "./rooms/create-room.js";
import { joinByIdOrAlias } from "./rooms/join-by-id-or-alias.js";
import { joinRoom } from "./rooms/join.js";
import { knock } from "./rooms/knock.js";
import { invite } from "./rooms/invite.js";
import { leave } from "./rooms/leave.js";
import { forget } from "./rooms/forget.js";
import { kick } from "./rooms/kick.js";
import { ban } from "./rooms/ban.js";
import { unban } from "./rooms/unban.js";
import { joinedRooms } from "./rooms/joined-rooms.js";
import { upgradeRoom } from "./rooms/upgrade.js";
import { sendMessage } from "./events/send-message.js";
import { redact } from "./events/redact.js";
import { getState } from "./events/get-state.js";
import { getStateEvent, getStateEventEmptyKey } from "./events/get-state-event.js";
import { putStateEvent, putStateEventEmptyKey } from "./events/put-state-event.js";
import { messages } from "./events/messages.js";
import { context } from "./events/context.js";
import { getEvent } from "./events/get-event.js";
import { members } from "./events/members.js";
import { joinedMembers } from "./events/joined-members.js";
import { getRelations, getRelationsByType, getRelationsByTypes } from "./events/relations.js";
import { getThreads } from "./events/threads.js";
import { timestampToEvent } from "./events/timestamp-to-event.js";
import { putAlias } from "./directory/put-alias.js";
import { getAlias } from "./directory/get-alias.js";
import { deleteAlias } from "./directory/delete-alias.js";
import { roomAliases } from "./directory/room-aliases.js";
import { getPublicRooms } from "./directory/get-public-rooms.js";
import { postPublicRooms } from "./directory/post-public-rooms.js";
import { getRoomVisibility } from "./directory/get-visibility.js";
import { putRoomVisibility } from "./directory/put-visibility.js";
import { getThreepids } from "./account/threepids.js";
import { getGlobalAccountData } from "./account-data/get-global.js";
import { getRoomAccountData } from "./account-data/get-room.js";
import { putGlobalAccountData } from "./account-data/put-global.js";
import { putRoomAccountData } from "./account-data/put-room.js";
import { createFilter } from "./filter/create-filter.js";
import { getFilter } from "./filter/get-filter.js";
import { keyChanges } from "./keys/changes.js";
import { claimKeys } from "./keys/claim.js";
import { uploadDeviceSigningKeys } from "./keys/device-signing-upload.js";
import { queryKeys } from "./keys/query.js";
import { uploadSignatures } from "./keys/signatures-upload.js";
import { uploadKeys } from "./keys/upload.js";
import { getAvatarUrl } from "./profile/get-avatar-url.js";
import { getDisplayname } from "./profile/get-displayname.js";
import { getProfile } from "./profile/get-profile.js";
import { putAvatarUrl } from "./profile/put-avatar-url.js";
import { putDisplayname } from "./profile/put-displayname.js";
import { createBackupVersion } from "./room-keys/create-version.js";
import { deleteAllRoomKeys, deleteRoomKeys, deleteSessionKey } from "./room-keys/delete-keys.js";
import { deleteBackupVersion } from "./room-keys/delete-version.js";
import { getAllRoomKeys, getRoomKeys, getSessionKey } from "./room-keys/get-keys.js";
import { getBackupVersion, getCurrentBackupVersion } from "./room-keys/get-version.js";
import { putAllRoomKeys, putRoomKeys, putSessionKey } from "./room-keys/put-keys.js";
import { updateBackupVersion } from "./room-keys/update-version.js";
import { getCapabilities } from "./server/capabilities.js";
import { getThirdPartyProtocols } from "./server/thirdparty-protocols.js";
import { getThirdPartyProtocol } from "./server/thirdparty-protocol.js";
import { getThirdPartyLocation } from "./server/thirdparty-location.js";
import { getThirdPartyUser } from "./server/thirdparty-user.js";
import { getThirdPartyLocationByAlias } from "./server/thirdparty-location-by-alias.js";
import { getThirdPartyUserById } from "./server/thirdparty-user-by-id.js";
import { whoisV3Route } from "./admin/whois-v3.js";
import { searchUserDirectory } from "./user-directory/search.js";
import { search } from "./search/search.js";
import { getNotifications } from "./push-rules/notifications.js";
import { requestOpenIdToken, type OpenIdDeps } from "./account/openid-token.js";
import { getPushers } from "./pushers/get-pushers.js";
import { setPusher } from "./pushers/set-pusher.js";
import type { PusherDeps } from "./pushers/shared.js";
import { listEventReportsRoute } from "./admin/list-event-reports.js";
import { getEventReportRoute } from "./admin/get-event-report.js";
import { deleteEventReportRoute } from "./admin/delete-event-report.js";
import { getTurnServer } from "./server/turn-server.js";
import { sendToDevice } from "./to-device/send-to-device.js";
import { deleteDevice } from "./devices/delete-device.js";
import { deleteDevices } from "./devices/delete-devices.js";
import { getDevice } from "./devices/get-device.js";
import { listDevices } from "./devices/list-devices.js";
import { updateDevice } from "./devices/update-device.js";
import { getLogin } from "./login/get-login.js";
import { logout } from "./login/logout.js";
import { logoutAll } from "./login/logout-all.js";
import { postLogin } from "./login/post-login.js";
import { refresh } from "./login/refresh.js";
import { registerAvailable } from "./register/available.js";
import { register } from "./register/register.js";
import { registrationTokenValidity } from "./register/token-validity.js";

export type ClientApiDeps = AccountDeps & UserDataDeps & RoomDeps & SyncDeps & RoomAdminDeps & ReportDeps & HierarchyDeps & OpenIdDeps & PusherDeps;

const v3Routes = [
  getPushers, setPusher,
  getLogin, postLogin, logout, logoutAll, refresh,
  register, registerAvailable,
  whoami, changePassword, deactivateAccount,
  listDevices, getDevice, updateDevice, deleteDevice, deleteDevices,
  createRoom, joinByIdOrAlias, joinRoom, knock, invite, leave, forget, kick, ban, unban, joinedRooms, upgradeRoom,
  sendMessage, redact, getState, getStateEvent, getStateEventEmptyKey, putStateEvent, putStateEventEmptyKey,
  messages, context, getEvent, members, joinedMembers,
  reportEvent, reportRoom,
  putAlias, getAlias, deleteAlias, roomAliases, getPublicRooms, postPublicRooms, getRoomVisibility, putRoomVisibility,
  uploadKeys, queryKeys, claimKeys, keyChanges, uploadDeviceSigningKeys, uploadSignatures,
  sendToDevice,
  createBackupVersion, getCurrentBackupVersion, getBackupVersion, updateBackupVersion, deleteBackupVersion,
  getAllRoomKeys, getRoomKeys, getSessionKey, putAllRoomKeys, putRoomKeys, putSessionKey,
  deleteAllRoomKeys, deleteRoomKeys, deleteSessionKey,
  getGlobalAccountData, putGlobalAccountData, getRoomAccountData, putRoomAccountData,
  getTags, putTag, deleteTag, searchUserDirectory, requestOpenIdToken, search, getNotifications,
  getProfile, getDisplayname, putDisplayname, getAvatarUrl, putAvatarUrl,
  createFilter, getFilter,
  getCapabilities, getTurnServer, getThirdPartyProtocols, getThreepids,
  getThirdPartyProtocol, getThirdPartyLocation, getThirdPartyUser, getThirdPartyLocationByAlias, getThirdPartyUserById, whoisV3Route,
  postThreepid, addThreepid, bindThreepid, deleteThreepid, unbindThreepid,
  requestAccountEmailToken, requestAccountMsisdnToken, requestRegisterEmailToken, requestRegisterMsisdnToken, requestPasswordEmailToken, requestPasswordMsisdnToken,
  sync, putTyping, postReceipt, postReadMarkers, getPresence, putPresence,
  getPushRules, getGlobalPushRules, ...pushRuleEnabledRoutes, ...pushRuleActionsRoutes, getPushRuleRoute, putPushRuleRoute, deletePushRuleRoute,
] as readonly Route<ClientApiDeps>[];

/**
 * The same route under /_matrix/client/r0 (refresh came after r0, so it has no r0 form; Synapse served it under
 * v1 before 1.72 and matrix-js-sdk still falls back to that, so it gets a v1 form).
 */
const r0 = (r: Route<ClientApiDeps>): Route<ClientApiDeps> => ({ ...r, path: r.path.replace("/_matrix/client/v3/", "/_matrix/client/r0/") });

export const clientRoutes: readonly Route<ClientApiDeps>[] = [
  ...v3Routes,
  ...v3Routes.filter((r) => r !== refresh).map(r0),
  { ...refresh, path: "/_matrix/client/v1/refresh" },
  getRelations, getRelationsByType, getRelationsByTypes, getThreads, timestampToEvent, getHierarchy,
  registrationTokenValidity,
  slidingSync,
  getRegisterNonce,
  registerWithSharedSecret,
  // Synapse's admin API (docs/admin-api.md): server admins only, but server_version.
  serverVersion,
  listUsersRoute, getUserRoute, putUserRoute, deactivateUserRoute, getAdminRoute, putAdminRoute, resetPasswordRoute, whoisRoute,
  listRegistrationTokensRoute, createRegistrationTokenRoute, getRegistrationTokenRoute, updateRegistrationTokenRoute, deleteRegistrationTokenRoute,
  getRoomRoute, getRoomMembersRoute, getRoomStateRoute,
  listRoomsRoute, getRoomBlockRoute, putRoomBlockRoute, deleteRoomRoute, deleteRoomV2Route, roomDeleteStatusRoute, deleteStatusRoute,
  listUserMediaRoute, deleteUserMediaRoute, quarantineUserMediaRoute, getMediaRoute, quarantineMediaRoute, unquarantineMediaRoute, deleteMediaRoute,
  listDestinationsRoute, getDestinationRoute, destinationRoomsRoute, resetDestinationRoute,
  listEventReportsRoute, getEventReportRoute, deleteEventReportRoute,
] as readonly Route<ClientApiDeps>[];

export type { AccountDeps, RoomDeps, RoomSettings, SyncDeps, AccountSettings, PasswordPolicy, UserDataDeps, TurnSettings, ProfileChangeListener, DeviceListAudience, RemoteProfiles, RemoteE2ee } from "./deps.js";
export { turnCredentials } from "./server/turn-server.js";
export { scryptHasher, type PasswordHasher } from "./shared/password.js";
export { storedUiaSessions, type UiaSessions } from "./shared/uia.js";
export { storedNonceStore, type NonceStore } from "./admin/nonces.js";
export { registrationMac } from "./admin/mac.js";
export * as adminService from "./admin/service.js";
export * as roomAdmin from "./admin/room-admin.js";
export * as mediaAdmin from "./admin/media-admin.js";
export * as destinationAdmin from "./admin/destination-admin.js";
export type { MediaAdminDeps } from "./admin/media-admin.js";
export type { DestinationAdminDeps } from "./admin/destination-admin.js";
export { RoomDeletions } from "./admin/room-admin.js";
export type { AdminDeps } from "./admin/service.js";
