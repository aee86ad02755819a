/**
 * Room tags (https://spec.matrix.org/v1.13/client-server-api/#room-tagging): the room's `m.tag` account data,
 * `{tags: {name: {order?}}}`, which /sync delivers in the room's account_data. Only one's own (403 M_FORBIDDEN);
 * the room id must be a room id (400 M_INVALID_PARAM), joined or not, as for room account data.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { UserIdParam } from "../shared/own-user.js";

export const TAG_TYPE = "m.tag";
/** The spec's limit on a tag name, in UTF-8 bytes. */
export const TAG_NAME_BYTES = 255;
/** At most this many tags on one room (Zion's bound on the m.tag content a client can grow). */
export const MAX_TAGS_PER_ROOM = 1000;

export const TagsParams = z.object({ userId: UserIdParam, roomId: z.string().min(1).max(255) });
export const TagParams = TagsParams.extend({ tag: z.string().min(1) });

export function tagName(raw: string): string {
  if (Buffer.byteLength(raw, "utf8") > TAG_NAME_BYTES) throw MatrixError.invalidParam("tag", `must be at most ${TAG_NAME_BYTES} bytes`);
  return raw;
}

/** The `tags` object of an m.tag content (empty when unset or malformed). */
export function tagsOf(content: JsonObject | null): JsonObject {
  const tags = content?.["tags"];
  return tags !== null && typeof tags === "object" && !Array.isArray(tags) ? (tags as JsonObject) : {};
}
