/**
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run) driven by playwright-core, without a display or a
 * network: headless, no sandbox (tests run as root), none of the browser's own background traffic, and a fresh
 * profile in the given folder on every launch (no service worker, cache or storage left from another run).
 */
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_ARGS: readonly string[] = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
}
