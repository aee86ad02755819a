/**
 * https://spec.matrix.org/v1.13/client-server-api/#put_matrixclientv3useruseridroomsroomidtagstag
 *
 * 1. The tag name is at most 255 bytes; the body is the tag object, whose `order`, when present, is a number.
 * 2. The tag is set (replacing its old object) in one read-modify-write of m.tag, so concurrent PUTs all land; a
 *    new tag past MAX_TAGS_PER_ROOM is refused with 400 M_INVALID_PARAM naming the limit, and nothing is written.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import type { UserDataDeps } from "../deps.js";
import { roomIdOf } from "../account-data/account-data-rules.js";
import { ownUser } from "../shared/own-user.js";
import { MAX_TAGS_PER_ROOM, TAG_TYPE, TagParams, tagName, tagsOf } from "./shared.js";

export const putTag = defineClientRoute({
  method: "PUT",
  path: "/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag",
  auth: "access-token",
  params: TagParams,
  body: z.looseObject({ order: z.unknown().optional() }),
  maxBodyBytes: 16 * 1024,
  async handle({ user, params, body }, { accountData }: Pick<UserDataDeps, "accountData">) {
    const userId = ownUser(user, params.userId, "add tags");
    const roomId = roomIdOf(params.roomId);
    // Step 1
    const tag = tagName(params.tag);
    if (body.order !== undefined && (typeof body.order !== "number" || !Number.isFinite(body.order))) throw MatrixError.invalidParam("order", "must be a number");
    // Step 2
    await accountData.update(userId, roomId, TAG_TYPE, (current) => {
      const tags = tagsOf(current);
      // Thrown inside the unit of work: the transaction rolls back, so nothing is written.
      if (!(tag in tags) && Object.keys(tags).length >= MAX_TAGS_PER_ROOM) throw MatrixError.invalidParam("tag", `a room has at most ${MAX_TAGS_PER_ROOM} tags; remove one first`);
      return { ...(current ?? {}), tags: { ...tags, [tag]: body as JsonObject } };
    });
    return {};
  },
});
