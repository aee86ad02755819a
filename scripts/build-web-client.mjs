#!/usr/bin/env node
// Builds the web client Zion serves at /_zion/client/ (web_client.enabled) into dist/web-client/:
//   1. type-checks src/web-client/ (a browser program: DOM types, no Node types) with its own tsconfig;
//   2. bundles src/web-client/main.ts with esbuild (ESM, minified): Hydrogen (hydrogen-view-sdk) and its theme CSS,
//      fonts and icons as content-hashed files under assets/;
//   3. copies what Hydrogen loads at run time by URL under content-hashed names: its olm worker, the download
//      sandbox, olm (wasm, its loader, the asm.js fallback); and Hydrogen's service worker as sw.js at the top, so
//      that its scope is the whole client (/_zion/client/);
//   4. writes index.html, which loads the hashed bundle.
// Every file under assets/ has its content hash in its name (the server lets browsers cache those for a year);
// index.html and sw.js keep fixed names (revalidated on every load).
// Everything comes from node_modules (no network). The output is written beside dist/web-client and renamed into
// place, so a running server never sees half a bundle. The server adds config.json at start-up.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const out = join(root, "dist", "web-client");
const tmp = `${out}.tmp-${process.pid}`;

function fail(message) {
  process.stderr.write(`build-web-client: ${message}\n`);
  process.exit(1);
}

// 1. Type-check the browser entry.
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(root, "src", "web-client", "tsconfig.json")], {
  stdio: "inherit",
  cwd: root,
});
if (tsc.status !== 0) fail("type errors in src/web-client (see above)");

// hydrogen-view-sdk's "exports" hide its package.json, so find the package folders by path.
const packageDir = (name) => {
  const dir = join(root, "node_modules", ...name.split("/"));
  if (!existsSync(join(dir, "package.json"))) fail(`${name} is not installed in node_modules (run npm ci)`);
  return dir;
};
const hydrogenDir = packageDir("hydrogen-view-sdk");
const olmDir = packageDir("@matrix-org/olm");
const hydrogenVersion = JSON.parse(readFileSync(join(hydrogenDir, "package.json"), "utf8")).version;
const olmVersion = JSON.parse(readFileSync(join(olmDir, "package.json"), "utf8")).version;

const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 10);
/** Copies a file into the output as assets/<stem>-<hash><ext>; returns its path relative to the page. */
function copyHashed(from, stem) {
  const bytes = readFileSync(from);
  const name = `assets/${stem}-${hash(bytes)}${extname(from)}`;
  writeFileSync(join(tmp, name), bytes);
  return name;
}

rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, "assets"), { recursive: true });
try {
  // 3. Files Hydrogen loads by URL.
  const assets = {
    worker: copyHashed(join(hydrogenDir, "asset-build", "assets", "main.js"), "hydrogen-worker"),
    downloadSandbox: copyHashed(join(hydrogenDir, "asset-build", "assets", "download-sandbox.html"), "download-sandbox"),
    olmWasm: copyHashed(join(olmDir, "olm.wasm"), "olm"),
    olmJs: copyHashed(join(olmDir, "olm.js"), "olm"),
    olmLegacy: copyHashed(join(olmDir, "olm_legacy.js"), "olm_legacy"),
    serviceWorker: "sw.js",
  };
  copyFileSync(join(hydrogenDir, "lib-build", "sw.js"), join(tmp, "sw.js"));

  // 2. The bundle. olm's loader has a Node branch that requires fs, path and crypto; in the browser they are empty.
  const emptyNodeModules = {
    name: "empty-node-builtins",
    setup(b) {
      b.onResolve({ filter: /^(fs|path|crypto)$/ }, (args) => ({ path: args.path, namespace: "empty-node-builtin" }));
      b.onLoad({ filter: /.*/, namespace: "empty-node-builtin" }, () => ({ contents: "module.exports = {};", loader: "js" }));
    },
  };
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, "src", "web-client", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    outdir: tmp,
    entryNames: "assets/[name]-[hash]",
    assetNames: "assets/[name]-[hash]",
    loader: { ".woff": "file", ".woff2": "file", ".svg": "file", ".png": "file" },
    define: { ZION_WEB_CLIENT_ASSETS: JSON.stringify(assets) },
    plugins: [emptyNodeModules],
    minify: true,
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(tmp, resolve(root, p)));
  const js = outputs.find((p) => /^assets\/main-[A-Z0-9]+\.js$/i.test(p));
  const css = outputs.find((p) => /^assets\/main-[A-Z0-9]+\.css$/i.test(p));
  if (!js || !css) fail(`esbuild produced no main JS or CSS (outputs: ${outputs.join(", ")})`);

  // 4. The page. The body is Hydrogen's container (its theme styles body.hydrogen).
  writeFileSync(
    join(tmp, "index.html"),
    `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Zion web client: hydrogen-view-sdk ${hydrogenVersion}, @matrix-org/olm ${olmVersion}">
<title>Hydrogen on Zion</title>
<link rel="stylesheet" href="${css}">
<script type="module" src="${js}"></script>
</head>
<body class="hydrogen" id="zion-web-client"></body>
</html>
`,
  );
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  process.stdout.write(`build-web-client: ${relative(root, out)}/ (${outputs.length + Object.keys(assets).length + 1} files, ${basename(js)})\n`);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  fail(e instanceof Error ? e.message : String(e));
}
