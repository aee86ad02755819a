/**
 * The web client's files as the server holds them: each with its Content-Type, a strong ETag and a caching
 * policy, looked up by exact relative path (so nothing outside the bundle can be named: no directory traversal).
 *
 * Caching: everything under assets/ carries its content hash in its name (scripts/build-web-client.mjs), so
 * browsers may keep it for a year; index.html, sw.js and config.json keep fixed names and are revalidated on every
 * load (ETag, 304). index.html gets a Content-Security-Policy: scripts only from this origin (plus compiling olm's
 * WebAssembly), no plugins, not framed by other sites; the homeserver and media may be on another origin.
 * sw.js is Hydrogen's service worker; served from the client's top folder, its scope is the whole client.
 */
import { createHash } from "node:crypto";

export const WEB_CLIENT_PREFIX = "/_zion/client/";

export interface WebClientFile {
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Every response header but Content-Type (ETag, Cache-Control, nosniff, CSP for the page). */
  readonly headers: Readonly<Record<string, string>>;
  readonly etag: string;
}

export interface WebClientBundle {
  /** The file at this path relative to /_zion/client/ ("" is index.html), or undefined. */
  file(path: string): WebClientFile | undefined;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
};

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf(".");
  return (dot >= 0 ? CONTENT_TYPES[path.slice(dot).toLowerCase()] : undefined) ?? "application/octet-stream";
}

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src * data: blob:",
  "media-src * data: blob:",
  "connect-src *",
  "font-src 'self'",
  "worker-src 'self'",
  "frame-src 'self' blob: data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join("; ");

export const IMMUTABLE = "public, max-age=31536000, immutable";
export const REVALIDATE = "no-cache";

function headersFor(path: string, etag: string): Record<string, string> {
  const h: Record<string, string> = {
    etag,
    "cache-control": path.startsWith("assets/") ? IMMUTABLE : REVALIDATE,
    "x-content-type-options": "nosniff",
  };
  if (path === "index.html") {
    h["content-security-policy"] = PAGE_CSP;
    h["referrer-policy"] = "no-referrer";
  }
  if (path === "sw.js") h["service-worker-allowed"] = WEB_CLIENT_PREFIX;
  return h;
}

/**
 * `files`: the built bundle (relative path with "/" separators -> bytes), as app/ read it from dist/web-client.
 * `config`: Hydrogen's config.json, written here rather than built, so the bundle fits any server.
 */
export function createWebClientBundle(files: ReadonlyMap<string, Uint8Array>, config: Readonly<Record<string, unknown>>): WebClientBundle {
  const all = new Map<string, WebClientFile>();
  const add = (path: string, body: Uint8Array): void => {
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    all.set(path, { body, contentType: contentTypeOf(path), etag, headers: headersFor(path, etag) });
  };
  for (const [path, body] of files) add(path, body);
  add("config.json", Buffer.from(JSON.stringify(config)));
  return {
    file(path) {
      return all.get(path === "" ? "index.html" : path);
    },
  };
}
