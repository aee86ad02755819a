/** https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3useruseridroomsroomidtags: `{tags}`, `{}` when none. */
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { roomIdOf } from "../account-data/account-data-rules.js";
import { ownUser } from "../shared/own-user.js";
import { TAG_TYPE, TagsParams, tagsOf } from "./shared.js";

export const getTags = defineClientRoute({
  method: "GET",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/tags",
  auth: "access-token",
  params: TagsParams,
  async handle({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "read tags");
    return { tags: tagsOf(await accountData.get(userId, roomIdOf(params.roomId), TAG_TYPE)) };
  },
});
