#!/usr/bin/env bash
# Installs the pinned Synapse (test/interop/SYNAPSE_VERSION) into a virtual
# environment outside the repository, reusing it when already present.
# Prints the venv's python path on the last line.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="$(tr -d '[:space:]' < "$here/test/interop/SYNAPSE_VERSION")"
venv="${ZION_SYNAPSE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/zion/synapse-$version}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import synapse, sys; sys.exit(0 if synapse.__version__ == '$version' else 1)" 2>/dev/null; then
  echo "synapse $version already installed in $venv" >&2
else
  echo "installing matrix-synapse==$version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "matrix-synapse==$version" >&2
fi
echo "$venv/bin/python"
