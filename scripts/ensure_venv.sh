#!/usr/bin/env bash
# Create or reuse .venv and install the project into it.
# Usage: scripts/ensure_venv.sh [EXTRAS]   (e.g. "test"); prints the venv's python path.
# A stamp file holds the hash of pyproject.toml and the extras, so a second run with nothing
# changed installs nothing and takes about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
venv="$root/.venv"

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "Python 3.10 or newer is needed: install it and run this again." >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv ..." >&2
  "$python" -m venv "$venv"
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
want="$( (cat "$root/pyproject.toml"; echo "extras=$extras") | sha256sum | cut -d' ' -f1)"
stamp="$venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing infinity-workflows${extras:+[$extras]} into $venv (first run takes a few minutes) ..." >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root${extras:+[$extras]}" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
