/**
 * Dot-separated property paths, as push rule keys and filter `event_fields`
 * name event properties: https://spec.matrix.org/v1.19/appendices/#dot-separated-property-paths
 */
import type { JsonObject, JsonValue } from "../json/types.js";

/**
 * Splits a path into property names. A literal dot or backslash inside a
 * name is escaped with a backslash (`content.m\.relates_to`, `content.m\\foo`);
 * any other escape (`\x`) is kept as the two characters it is.
 */
export function parseDottedPath(path: string): readonly string[] {
  let parts = parsed.get(path);
  if (!parts) {
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parts = Object.freeze(parseUncached(path));
    parsed.set(path, parts);
  }
  return parts;
}

/** Parsed paths, bounded: push rule keys are few and read for every event. */
const parsed = new Map<string, readonly string[]>();
const PARSED_LIMIT = 4096;

function parseUncached(path: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "\\") {
      const next = path[i + 1];
      if (next === "." || next === "\\") {
        cur += next;
        i++;
      } else {
        cur += c;
      }
    } else if (c === ".") {
      parts.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value at a parsed path, or undefined when any step is absent or not an object. */
export function valueAtPath(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  for (const name of path) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, name)) return undefined;
    cur = cur[name];
  }
  return cur;
}
