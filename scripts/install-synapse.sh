#!/usr/bin/env bash
# Installs the pinned Synapse (test/interop/SYNAPSE_VERSION) into a virtual
# environment outside the repository, reusing it when already present.
# Prints the venv's python path on the last line.
# --postgres also installs Synapse's "postgres" extra (psycopg2, built from source: needs gcc and Debian's libpq-dev
# for pg_config); only the federation benchmark's --postgres runs use it, so CI does not pay for the build.
set -euo pipefail
postgres=false
for a in "$@"; do
  case "$a" in
    --postgres) postgres=true ;;
    *) echo "install-synapse: unknown argument $a (only --postgres)" >&2; exit 2 ;;
  esac
done
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
if $postgres && ! "$venv/bin/python" -c "from synapse.util.check_dependencies import check_requirements; check_requirements('postgres')" 2>/dev/null; then
  command -v pg_config >/dev/null || { echo "install-synapse: --postgres builds psycopg2, which needs pg_config: apt-get install libpq-dev" >&2; exit 1; }
  echo "installing matrix-synapse[postgres]==$version (psycopg2) into $venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "matrix-synapse[postgres]==$version" >&2
fi
echo "$venv/bin/python"
