/**
 * https://spec.matrix.org/v1.13/client-server-api/#post_matrixclientv3pushersset
 *
 * 1. `app_id` and `pushkey` are required strings (400 M_MISSING_PARAM / M_BAD_JSON naming the field), within the
 *    spec's limits (64 characters, 512 bytes: M_INVALID_PARAM).
 * 2. `kind: null` deletes the user's pusher for (app_id, pushkey) and answers `{}`, also when there was none.
 * 3. Otherwise `kind`, `app_display_name`, `device_display_name`, `lang` (strings) and `data` (an object) are
 *    required; `profile_tag` is an optional string and `append` an optional boolean. Kind `http` only: `email` is
 *    refused (Zion sends no email) and any other kind is unknown, both 400 M_INVALID_PARAM naming `kind`.
 * 4. An http pusher's `data.url` is required and must be an http(s) URL whose path is /_matrix/push/v1/notify
 *    (as Synapse checks); `data.format`, when present, must be "event_id_only".
 * 5. The pusher is stored bound to the caller's device (deleting or logging out the device deletes it), replacing
 *    the user's pusher with the same (app_id, pushkey); unless `append` is true, other users' pushers with that
 *    pair are removed in the same transaction. Nothing is written when any check fails.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import { defineClientRoute } from "../../http/index.js";
import { APP_ID_MAX_CHARS, NOTIFY_PATH, PUSHKEY_MAX_BYTES, type PusherDeps } from "./shared.js";

type Body = Record<string, unknown>;

function requiredString(body: Body, field: string): string {
  const v = body[field];
  if (v === undefined) throw MatrixError.missingParam(field);
  if (typeof v !== "string") throw MatrixError.badJson(`${field} must be a string`);
  return v;
}

function optionalString(body: Body, field: string): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw MatrixError.badJson(`${field} must be a string`);
  return v;
}

function httpData(raw: unknown): JsonObject {
  if (raw === undefined) throw MatrixError.missingParam("data");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw MatrixError.badJson("data must be an object");
  const data = raw as JsonObject;
  const url = data["url"];
  if (url === undefined) throw MatrixError.missingParam("data.url");
  if (typeof url !== "string") throw MatrixError.badJson("data.url must be a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw MatrixError.invalidParam("data.url", "must be an absolute URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw MatrixError.invalidParam("data.url", "must be an http or https URL");
  if (parsed.pathname !== NOTIFY_PATH) throw MatrixError.invalidParam("data.url", `must have the path ${NOTIFY_PATH}`);
  const format = data["format"];
  if (format !== undefined && format !== "event_id_only") throw MatrixError.invalidParam("data.format", 'must be "event_id_only" when present');
  return data;
}

export const setPusher = defineClientRoute({
  method: "POST",
  path: "/_matrix/client/v3/pushers/set",
  auth: "access-token",
  body: z.looseObject({}),
  maxBodyBytes: 64 * 1024,
  async handle({ user, body }, { pushers, clock }: PusherDeps) {
    const b = body as Body;
    // Step 1
    const appId = requiredString(b, "app_id");
    const pushkey = requiredString(b, "pushkey");
    if ([...appId].length > APP_ID_MAX_CHARS) throw MatrixError.invalidParam("app_id", `must be at most ${APP_ID_MAX_CHARS} characters`);
    if (Buffer.byteLength(pushkey, "utf8") > PUSHKEY_MAX_BYTES) throw MatrixError.invalidParam("pushkey", `must be at most ${PUSHKEY_MAX_BYTES} bytes`);
    if (!("kind" in b)) throw MatrixError.missingParam("kind");
    // Step 2
    if (b["kind"] === null) {
      await pushers.delete(user.userId, appId, pushkey);
      return {};
    }
    // Step 3
    const kind = requiredString(b, "kind");
    const appDisplayName = requiredString(b, "app_display_name");
    const deviceDisplayName = requiredString(b, "device_display_name");
    const lang = requiredString(b, "lang");
    const profileTag = optionalString(b, "profile_tag");
    const append = b["append"] ?? false;
    if (typeof append !== "boolean") throw MatrixError.badJson("append must be a boolean");
    if (kind === "email") throw MatrixError.invalidParam("kind", "email pushers are not supported: this server sends no email");
    if (kind !== "http") throw MatrixError.invalidParam("kind", `unknown pusher kind ${JSON.stringify(kind)}; this server supports "http"`);
    // Step 4
    const data = httpData(b["data"]);
    // Step 5
    await pushers.set({
      userId: user.userId, appId, pushkey, kind, appDisplayName, deviceDisplayName, profileTag, lang, data,
      deviceId: user.deviceId, pushkeyTs: clock.now(),
    }, append);
    return {};
  },
});
