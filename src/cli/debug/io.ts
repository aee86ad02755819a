/** Shared plumbing for debug commands: read stdin as strict JSON, fail with exit 2. */
import { MatrixError } from "../../core/errors.js";
import { canonicalJson } from "../../core/json/canonical.js";
import { parseJsonStrict } from "../../core/json/parse.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import { ROOM_VERSIONS, isKnownRoomVersion, roomVersion, type RoomVersionRules } from "../../core/room-versions/index.js";

/** Debug input may be a whole send_join response; the limit is generous but there is one. */
export const DEBUG_MAX_BYTES = 256 * 1024 * 1024;

export async function readStdinBytes(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Reads stdin as strict JSON (floats allowed only when `strictIntegers` is false); exit 2 on bad input. */
export async function readJsonInput(strictIntegers = true): Promise<JsonValue> {
  const bytes = await readStdinBytes();
  if (bytes.length === 0) failUsage("no JSON on standard input");
  return parseJsonStrict(bytes, { maxBytes: DEBUG_MAX_BYTES, maxDepth: 512, strictIntegers });
}

export async function readJsonObjectInput(strictIntegers = true): Promise<JsonObject> {
  const v = await readJsonInput(strictIntegers);
  if (typeof v !== "object" || v === null || Array.isArray(v)) failUsage("standard input must be a JSON object");
  return v as JsonObject;
}

/** The one-line reason for a stdin that could not be read as JSON ("not JSON" for unparseable text). */
export function stdinError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof MatrixError && e.errcode === "M_NOT_JSON" ? `stdin is not JSON: ${message}` : `stdin: ${message}`;
}

/** Commander option parser for a repeatable option: each use appends its value. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads stdin as a JSON object (floats allowed, as old room versions have them), or exits 2 with the reason. */
export async function readJsonObjectOrExit(): Promise<JsonObject> {
  try {
    return await readJsonObjectInput(false);
  } catch (e) {
    failUsage(stdinError(e));
  }
}

/**
 * --room-version as a server would judge it: an unknown version is what a server answers with
 * M_UNSUPPORTED_ROOM_VERSION, so the message names that errcode and the versions Zion knows. Exit 2.
 */
export function roomVersionOrExit(version: unknown): RoomVersionRules {
  if (typeof version !== "string" || version === "") failUsage("--room-version is required (1 to 12)");
  if (!isKnownRoomVersion(version)) {
    failUsage(`--room-version ${JSON.stringify(version)}: M_UNSUPPORTED_ROOM_VERSION, Zion knows room versions ${[...ROOM_VERSIONS.keys()].join(", ")}`);
  }
  return roomVersion(version);
}

/** A usage or input error: one line on stderr, exit code 2. */
export function failUsage(reason: string): never {
  process.stderr.write(`${reason.replace(/\n/g, " ")}\n`);
  process.exit(2);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Prints JSON indented like printJson, but from its non-strict canonical text (keys in code-point order), so the
 * numbers of a room version 1-5 event keep the literals they were read with and the output hashes as the input did.
 */
export function printJsonKeepingNumbers(value: unknown): void {
  const text = canonicalJson(value, { strict: false });
  let out = "";
  let depth = 0;
  const nl = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      if (text[i + 1] === close) {
        out += c + close;
        i++;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl() + c;
    } else if (c === ",") {
      out += "," + nl();
    } else if (c === ":") {
      out += ": ";
    } else {
      out += c;
    }
  }
  process.stdout.write(`${out}\n`);
}
