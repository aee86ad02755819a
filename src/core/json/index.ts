export type { JsonValue, JsonObject } from "./types.js";
export { canonicalJson, canonicalJsonBytes, compareCodePoints, sortKeysCodePoint, findUnencodable } from "./canonical.js";
export type { CanonicalOptions } from "./canonical.js";
export { classifyNumberLiteral, copyNumberTexts, numberTextAt } from "./numbers.js";
export { parseJsonStrict, parseJsonObjectStrict, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH } from "./parse.js";
export type { ParseLimits } from "./parse.js";
export { CanonicalJsonError, formatJsonPath } from "./errors.js";
export type { JsonPath } from "./errors.js";
export { encodeBase64, encodeBase64Url, decodeBase64, InvalidBase64Error } from "./base64.js";
