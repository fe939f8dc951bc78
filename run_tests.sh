#!/usr/bin/env bash
# Run the test suite: creates or reuses .venv with the test extras, checks style with ruff,
# then runs pytest. Extra arguments go to pytest: ./run_tests.sh -m "not slow" is the fast
# tier for the edit-test loop; with no arguments every test runs (as CI does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
python="$(scripts/ensure_venv.sh test)"
"$python" -m ruff check .
# Exit code 5 means "no tests collected": that is a failure for this project.
"$python" -m pytest -p no:cacheprovider "$@"
