#!/usr/bin/env bash
# Run the whole test suite: creates or reuses .venv with the test extras, checks style with
# ruff, then runs pytest. Extra arguments go to pytest (e.g. ./run_tests.sh -k client -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
python="$(scripts/ensure_venv.sh test)"
"$python" -m ruff check .
# Exit code 5 means "no tests collected": that is a failure for this project.
"$python" -m pytest -p no:cacheprovider "$@"
