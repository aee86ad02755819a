/** https://spec.matrix.org/v1.13/client-server-api/#delete_matrixclientv3useruseridroomsroomidtagstag: `{}`, also for a tag that was not set. */
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { roomIdOf } from "../account-data/account-data-rules.js";
import { ownUser } from "../shared/own-user.js";
import { TAG_TYPE, TagParams, tagName, tagsOf } from "./shared.js";

export const deleteTag = defineClientRoute({
  method: "DELETE",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag",
  auth: "access-token",
  params: TagParams,
  async handle({ user, params }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "remove tags");
    const roomId = roomIdOf(params.roomId);
    const tag = tagName(params.tag);
    if (!(tag in tagsOf(await accountData.get(userId, roomId, TAG_TYPE)))) return {};
    await accountData.update(userId, roomId, TAG_TYPE, (current) => {
      const { [tag]: _gone, ...rest } = tagsOf(current);
      return { ...(current ?? {}), tags: rest };
    });
    return {};
  },
});
