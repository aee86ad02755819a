#!/usr/bin/env bash
# Installs the pinned Dendrite (test/interop/DENDRITE_VERSION) from its Go module into a directory outside the
# repository, reusing the binaries when they are already there and were built from that version.
# Prints the dendrite binary's path on the last line.
#
# - Only the Go module proxy is used: GOPROXY is the configured proxy with `direct` and `off` dropped (a module
#   missing from the proxy fails the build instead of being cloned from its source host), GOTOOLCHAIN=local (the
#   machine's Go builds it; Dendrite's go.mod asks for 1.21, so no other toolchain is ever fetched).
# - Dendrite links SQLite through mattn/go-sqlite3, which is C: CGO_ENABLED=1 and gcc are required.
# - The binaries go to ${XDG_CACHE_HOME:-$HOME/.cache}/zion/dendrite-v<version>/ (ZION_DENDRITE_BIN_DIR moves it);
#   the module and build caches are Go's own (go env GOMODCACHE, GOCACHE).
# A first build takes minutes (docs/dendrite-peer.md has the figures); a cached one returns at once.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="$(tr -d '[:space:]' < "$here/test/interop/DENDRITE_VERSION")"
version="${version#v}"
bin="${ZION_DENDRITE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zion/dendrite-v$version}"
module="github.com/matrix-org/dendrite"
tools=(dendrite generate-keys generate-config)

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { echo "install-dendrite: go is not installed" >&2; exit 1; }

# A binary counts as installed when `go version -m` says it was built from the pinned module version.
built_from_pin() {
  [ -x "$1" ] && go version -m "$1" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+v$version([[:space:]]|$)"
}

missing=()
for t in "${tools[@]}"; do built_from_pin "$bin/$t" || missing+=("$t"); done
if ((${#missing[@]} == 0)); then
  echo "dendrite v$version already installed in $bin" >&2
else
  command -v gcc >/dev/null || { echo "install-dendrite: gcc is needed (Dendrite's SQLite driver is cgo)" >&2; exit 1; }
  proxy="$(go env GOPROXY | tr ',|' '\n\n' | grep -Ev '^(direct|off)?$' | head -n1 || true)"
  [ -n "$proxy" ] || { echo "install-dendrite: no Go module proxy configured (GOPROXY=$(go env GOPROXY))" >&2; exit 1; }
  echo "installing $module v$version (${missing[*]}) into $bin with $(go version | cut -d' ' -f3)" >&2
  mkdir -p "$bin"
  start=$(date +%s)
  pkgs=()
  for t in "${missing[@]}"; do pkgs+=("$module/cmd/$t@v$version"); done
  GOBIN="$bin" GOPROXY="$proxy" GOTOOLCHAIN=local CGO_ENABLED=1 go install "${pkgs[@]}" >&2
  echo "built in $(( $(date +%s) - start )) s" >&2
  for t in "${tools[@]}"; do
    built_from_pin "$bin/$t" || { echo "install-dendrite: $bin/$t is not v$version after go install" >&2; exit 1; }
  done
fi
echo "$bin/dendrite"
