/** Every /_matrix/federation route. This file only lists routes. */
import type { Route } from "../http/index.js";
import { directoryRoutes, type DirectoryDeps, type PublicRoomsDeps } from "./directory/index.js";
import { eventRoutes, type RoomReadDeps } from "./events/index.js";
import { keyQueryRoutes, type KeyQueryDeps } from "./keys/index.js";
import { queryRoutes, type ProfileDeps } from "./query/index.js";
import { stateRoutes } from "./state/index.js";
import { membershipRoutes, type MembershipDeps } from "./membership/index.js";
import { transactionRoutes, type SendTransactionDeps } from "./transactions/index.js";
import { federationMediaRoutes } from "./media/index.js";
import { userRoutes, type UserKeysDeps } from "./user/index.js";
import type { MediaDeps } from "../media/deps.js";
import { federationHierarchy, type FederationHierarchyDeps } from "./spaces/hierarchy.js";
import { openIdUserinfo, type OpenIdUserinfoDeps } from "./openid/userinfo.js";

export type FederationApiDeps = ProfileDeps & KeyQueryDeps & RoomReadDeps & DirectoryDeps & PublicRoomsDeps & SendTransactionDeps & MembershipDeps & MediaDeps & FederationHierarchyDeps & OpenIdUserinfoDeps & UserKeysDeps;
export { emptyRoomDirectory, localRoomDirectory, type RoomDirectory } from "./directory/index.js";

export const federationRoutes: readonly Route<FederationApiDeps>[] = [
  ...queryRoutes, ...keyQueryRoutes, ...eventRoutes, ...stateRoutes, ...directoryRoutes, ...transactionRoutes, ...membershipRoutes, ...federationMediaRoutes, federationHierarchy, openIdUserinfo, ...userRoutes,
] as readonly Route<FederationApiDeps>[];
