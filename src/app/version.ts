/** Zion's version, read once from package.json (found upwards from this file, in src/ or dist/src/). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function zionVersion(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "zion" && pkg.version) return (cached = pkg.version);
    } catch {
      /* keep looking upwards */
    }
    dir = dirname(dir);
  }
  return (cached = "0.0.0");
}
