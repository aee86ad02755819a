/**
 * The X-Matrix Authorization header: https://spec.matrix.org/v1.16/server-server-api/#request-authentication
 *
 * Grammar (RFC 7235 section 2.1 credentials, as the spec restates it):
 *   credentials = "X-Matrix" 1*SP param *( OWS "," OWS param )
 *   param       = token "=" ( token / quoted-string )      ; names case-insensitive, any order
 *   quoted-string: backslash-escaped characters are unescaped
 * For compatibility with older servers a recipient also accepts unquoted values containing ':'. Unknown
 * parameters are ignored. The sender uses one space, lower-case names and no backslashes.
 */
import { signJson, type SigningKey } from "../../core/crypto/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";

export interface XMatrixParams {
  readonly origin: string;
  /** Absent from requests of servers older than spec v1.3. */
  readonly destination?: string;
  readonly key: string;
  readonly sig: string;
}

export type XMatrixParse = { ok: true; value: XMatrixParams } | { ok: false; reason: string };

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export function parseXMatrix(header: string): XMatrixParse {
  const m = /^X-Matrix +/i.exec(header);
  if (!m) return { ok: false, reason: "the Authorization scheme is not X-Matrix" };
  const s = header;
  let i = m[0].length;
  const params = new Map<string, string>();
  const ws = () => { while (i < s.length && (s[i] === " " || s[i] === "\t")) i++; };
  while (i < s.length) {
    ws();
    if (s[i] === ",") { i++; continue; }
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && TOKEN.test(s[i]!)) i++;
    const name = s.slice(start, i).toLowerCase();
    if (name.length === 0) return { ok: false, reason: `unexpected ${JSON.stringify(s[i])} at offset ${i} of the Authorization header` };
    ws();
    if (s[i] !== "=") return { ok: false, reason: `parameter ${name} has no value` };
    i++;
    ws();
    let value = "";
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === "\\" && i + 1 < s.length) { value += s[i + 1]; i += 2; continue; }
        if (c === '"') { closed = true; i++; break; }
        value += c;
        i++;
      }
      if (!closed) return { ok: false, reason: `the quoted value of ${name} is not closed` };
    } else {
      const vs = i;
      // A token, or for compatibility any run without ',' or whitespace (e.g. "ed25519:key1" unquoted).
      while (i < s.length && s[i] !== "," && s[i] !== " " && s[i] !== "\t") i++;
      value = s.slice(vs, i);
      if (value.length === 0) return { ok: false, reason: `parameter ${name} has an empty value` };
    }
    if (params.has(name)) return { ok: false, reason: `parameter ${name} appears twice` };
    params.set(name, value);
    ws();
    if (i < s.length && s[i] !== ",") return { ok: false, reason: `expected ',' after parameter ${name}` };
  }
  const origin = params.get("origin");
  const key = params.get("key");
  const sig = params.get("sig");
  if (!origin) return { ok: false, reason: "the X-Matrix header has no origin" };
  if (!key) return { ok: false, reason: "the X-Matrix header has no key" };
  if (!sig) return { ok: false, reason: "the X-Matrix header has no sig" };
  const destination = params.get("destination");
  return { ok: true, value: destination !== undefined ? { origin, destination, key, sig } : { origin, key, sig } };
}

/** The sender's form: one space, lower-case names, every value quoted. */
export function formatXMatrix(p: XMatrixParams & { destination: string }): string {
  const q = (v: string) => `"${v.replace(/["\\]/g, "\\$&")}"`;
  return `X-Matrix origin=${q(p.origin)},destination=${q(p.destination)},key=${q(p.key)},sig=${q(p.sig)}`;
}

export interface RequestToSign {
  readonly method: string;
  /** Path and query, starting with "/_matrix/". */
  readonly uri: string;
  readonly origin: string;
  readonly destination: string;
  /** The JSON body; undefined when the request has none. */
  readonly content?: JsonValue;
}

/** Step 1 of the spec: the object that is signed. */
export function requestJson(r: RequestToSign): JsonObject {
  const base = { method: r.method, uri: r.uri, origin: r.origin, destination: r.destination };
  return r.content !== undefined ? { ...base, content: r.content } : base;
}

/** Steps 1 and 2: sign the request object and build the Authorization header. */
export function signRequest(r: RequestToSign, key: SigningKey): string {
  const signed = signJson(requestJson(r), r.origin, key);
  const sig = ((signed["signatures"] as JsonObject)[r.origin] as JsonObject)[key.keyId] as string;
  return formatXMatrix({ origin: r.origin, destination: r.destination, key: key.keyId, sig });
}
