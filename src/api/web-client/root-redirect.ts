/**
 * GET / redirects to a web client, as Synapse's root resource does: to `web_client_location` when it is set (on
 * every listener, as in Synapse: a 302 with Location and a small HTML page with a link), else to the bundled
 * client at /_zion/client/ when `web_client.enabled` (client listeners only). Synapse 1.163 redirects nothing
 * else: /_matrix/client/ stays a 404 M_UNRECOGNIZED (the old `webclient` resource that served
 * /_matrix/client is gone), and Zion does the same.
 */
import { defineRoute, HttpResponse, type Route, type RouteResource } from "../http/index.js";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function rootRedirect(location: string, resource: RouteResource): Route<unknown> {
  const page = `<!DOCTYPE html>\n<html><head><meta http-equiv="refresh" content="0;URL=${escapeHtml(location)}"></head>` +
    `<body><a href="${escapeHtml(location)}">${escapeHtml(location)}</a></body></html>\n`;
  return defineRoute({
    method: "GET",
    path: "/",
    auth: "none",
    resource,
    cors: false,
    handle: () => HttpResponse.text(302, page, "text/html; charset=utf-8", { location }),
  });
}
