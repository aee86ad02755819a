/**
 * The bundled web client (Hydrogen) and the root redirect. This file only lists routes; app/ registers them
 * when `web_client.enabled` / `web_client_location` say so (src/app/web-client.ts).
 */
import type { Route } from "../http/index.js";
import { getWebClientFile, getWebClientFolder, type WebClientDeps } from "./files.js";

export { createWebClientBundle, contentTypeOf, WEB_CLIENT_PREFIX, PAGE_CSP } from "./bundle.js";
export type { WebClientBundle, WebClientFile } from "./bundle.js";
export { rootRedirect } from "./root-redirect.js";
export type { WebClientDeps };

export const webClientRoutes: readonly Route<WebClientDeps>[] = [getWebClientFolder, getWebClientFile];
