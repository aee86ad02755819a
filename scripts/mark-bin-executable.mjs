// tsc writes dist/ files as 0644, so the package's bin (package.json "bin") would not run from a PATH symlink,
// as `npm install -g .` makes, or from the tests that put it on PATH. npx sets the bit only when it first links
// the package into its cache, so relying on it made those tests depend on which test ran npx first.
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { bin } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
for (const file of Object.values(typeof bin === "string" ? { main: bin } : bin ?? {})) chmodSync(join(root, file), 0o755);
