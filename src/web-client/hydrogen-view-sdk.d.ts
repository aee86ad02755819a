/**
 * The part of hydrogen-view-sdk 0.3.1 that main.ts uses. The package ships no usable declarations (its types/
 * folder points at .js sources), so this states the surface narrowly; `unknown` where we only pass values along.
 */
declare module "hydrogen-view-sdk" {
  export interface AssetPaths {
    readonly worker: string;
    readonly downloadSandbox: string;
    readonly olm: { readonly wasm: string; readonly legacyBundle: string; readonly wasmBundle: string };
    readonly serviceWorker: string;
  }
  export class Platform {
    constructor(options: {
      container: HTMLElement;
      assetPaths: AssetPaths;
      config?: Record<string, unknown>;
      configURL?: string;
      options?: { development?: boolean } | null;
    });
    readonly settingsStorage: unknown;
    readonly history: unknown;
    init(): Promise<void>;
    setNavigation(navigation: Navigation): void;
    createAndMountRootView(vm: RootViewModel): void;
  }
  export interface Navigation {
    readonly __brand: "HydrogenNavigation";
  }
  export interface Router {
    attach(): void;
  }
  export function createNavigation(): Navigation;
  export function createRouter(options: { navigation: Navigation; history: unknown }): Router;
  export class FeatureSet {
    static load(settingsStorage: unknown): Promise<FeatureSet>;
  }
  export class RootViewModel {
    constructor(options: { platform: Platform; navigation: Navigation; urlRouter: Router; features: FeatureSet });
    load(): Promise<void>;
  }
}
