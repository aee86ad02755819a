/**
 * Composition of the bundled web client (docs/web-client.md):
 * - `web_client.enabled`: reads the bundle that `npm run build` writes to dist/web-client (a missing bundle stops
 *   start-up before anything is bound), adds config.json pointing Hydrogen at this server's public_baseurl, and
 *   serves it all at /_zion/client/ on client listeners; GET / then redirects there.
 * - `web_client_location` (Synapse's key): GET / redirects there instead, on every listener, as in Synapse.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { HomeserverConfig } from "../config/index.js";
import type { Route } from "../api/http/index.js";
import { createWebClientBundle, rootRedirect, webClientRoutes, WEB_CLIENT_PREFIX } from "../api/web-client/index.js";
import { StartupError } from "./errors.js";

/** dist/web-client of the package this module belongs to (compiled: dist/src/app; under tsx: src/app). */
export function defaultWebClientDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "web-client");
    dir = dirname(dir);
  }
  throw new StartupError(["web_client: cannot find Zion's package folder (package.json) to locate dist/web-client"]);
}

function readTree(root: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p).split(sep).join("/"), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

export interface WebClientOptions {
  readonly routes: readonly Route<never>[];
  readonly deps: Readonly<Record<string, unknown>>;
}

/** `bundleDir` defaults to dist/web-client, looked for only when the client is enabled. */
export function webClientServerOptions(config: HomeserverConfig, bundleDirOption?: string): WebClientOptions {
  const routes: Route<never>[] = [];
  const deps: Record<string, unknown> = {};
  if (config.web_client.enabled) {
    const bundleDir = bundleDirOption ?? defaultWebClientDir();
    if (!existsSync(join(bundleDir, "index.html"))) {
      throw new StartupError([`web_client.enabled: the web client is not built (no ${join(bundleDir, "index.html")}): run \`npm run build\``]);
    }
    const defaultHomeServer = config.public_baseurl.replace(/\/+$/, "");
    deps["webClient"] = createWebClientBundle(readTree(bundleDir), { defaultHomeServer });
    routes.push(...(webClientRoutes as readonly Route<never>[]));
  }
  if (config.web_client_location !== undefined) routes.push(rootRedirect(config.web_client_location, "public") as Route<never>);
  else if (config.web_client.enabled) routes.push(rootRedirect(WEB_CLIENT_PREFIX, "client") as Route<never>);
  return { routes, deps };
}
