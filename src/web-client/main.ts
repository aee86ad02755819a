/**
 * The web client Zion serves at /_zion/client/ (web_client.enabled): Hydrogen's whole app (login, room list,
 * timeline, composer), mounted the way Hydrogen's own web build mounts it. This file runs in the browser and is
 * bundled by scripts/build-web-client.mjs with esbuild; it imports nothing from the server's code (it talks to
 * Zion over the client-server API only) and nothing of the server imports it.
 *
 * Asset paths are relative to the page (/_zion/client/), so the bundle works wherever it is mounted. The build
 * gives the copied assets content-hashed names and passes them in as ZION_WEB_CLIENT_ASSETS. config.json is not a
 * build output: the server writes it at start-up with `defaultHomeServer` (its public_baseurl), which pre-fills
 * the homeserver field of the login form.
 */
import { createNavigation, createRouter, FeatureSet, Platform, RootViewModel } from "hydrogen-view-sdk";
import "hydrogen-view-sdk/theme-element-light.css";

declare const ZION_WEB_CLIENT_ASSETS: {
  readonly worker: string;
  readonly downloadSandbox: string;
  readonly olmWasm: string;
  readonly olmLegacy: string;
  readonly olmJs: string;
  readonly serviceWorker: string;
};

async function main(container: HTMLElement): Promise<void> {
  const a = ZION_WEB_CLIENT_ASSETS;
  const platform = new Platform({
    container,
    // Hydrogen 0.3.1 needs the service worker: its update service (and authenticated media) live there.
    assetPaths: {
      worker: a.worker,
      downloadSandbox: a.downloadSandbox,
      olm: { wasm: a.olmWasm, legacyBundle: a.olmLegacy, wasmBundle: a.olmJs },
      serviceWorker: a.serviceWorker,
    },
    configURL: "config.json",
    options: { development: false },
  });
  await platform.init();
  // 0.3.1's RootViewModel reads `features` (the session view fails without it) and `urlRouter` (newer code calls
  // it urlCreator).
  const features = await FeatureSet.load(platform.settingsStorage);
  const navigation = createNavigation();
  platform.setNavigation(navigation);
  const urlRouter = createRouter({ navigation, history: platform.history });
  urlRouter.attach();
  const vm = new RootViewModel({ platform, navigation, urlRouter, features });
  await vm.load();
  platform.createAndMountRootView(vm);
}

const container = document.getElementById("zion-web-client");
if (container) {
  main(container).catch((err: unknown) => {
    console.error("zion web client: failed to start", err);
    container.textContent = `The web client failed to start: ${err instanceof Error ? err.message : String(err)}`;
  });
}
