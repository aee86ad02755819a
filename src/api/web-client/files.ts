/**
 * GET /_zion/client/<file>: the bundled web client (web_client.enabled). "" and "index.html" are the page; any
 * other name (percent-decoded) must be a file of the bundle exactly: 404 otherwise (unknown names, "..").
 * If-None-Match with the file's ETag answers 304. HEAD is answered like GET without the body.
 */
import { MatrixError } from "../../core/errors.js";
import { defineRoute, HttpResponse } from "../http/index.js";
import type { WebClientBundle } from "./bundle.js";

export interface WebClientDeps {
  readonly webClient: WebClientBundle;
}

function matches(ifNoneMatch: string | readonly string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const values = (typeof ifNoneMatch === "string" ? [ifNoneMatch] : ifNoneMatch).flatMap((v) => v.split(","));
  return values.some((v) => {
    const t = v.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

export const getWebClientFile = defineRoute<{ "*": string }, Record<string, string>, undefined, "none", WebClientDeps>({
  method: "GET",
  path: "/_zion/client/*",
  auth: "none",
  resource: "client",
  cors: false,
  handle({ params, request }, { webClient }) {
    const name = params["*"];
    const file = webClient.file(name);
    if (!file) throw MatrixError.notFound(`the web client has no file ${JSON.stringify(name)}`);
    if (matches(request.headers["if-none-match"], file.etag)) return HttpResponse.empty(304, { ...file.headers });
    return HttpResponse.bytes(200, file.body, file.contentType, { ...file.headers });
  },
});

/** GET /_zion/client: the page's relative asset paths need the trailing slash. */
export const getWebClientFolder = defineRoute<Record<string, string>, Record<string, string>, undefined, "none", WebClientDeps>({
  method: "GET",
  path: "/_zion/client",
  auth: "none",
  resource: "client",
  cors: false,
  handle({ request }) {
    const q = request.uri.indexOf("?");
    return HttpResponse.empty(301, { location: `/_zion/client/${q >= 0 ? request.uri.slice(q) : ""}` });
  },
});
