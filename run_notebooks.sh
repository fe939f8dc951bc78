#!/usr/bin/env bash
# Open JupyterLab at visionfit/create_a_workflow.ipynb (written there from the package the
# first time), with the local server running and a Python kernel of the project's .venv.
#
#   ./run_notebooks.sh                      first run: creates .venv and installs (minutes);
#                                           later runs start in seconds
#   ./run_notebooks.sh --port 8899 --no-browser --ServerApp.token=...
#                                           extra arguments go to `jupyter lab`
#
# The server is INFINITY_SERVER_URL (default http://127.0.0.1:8765/). When nothing answers
# there and it is a loopback URL, the local server is started in the background (its data in
# INFINITY_WORKFLOWS_HOME, default the user data folder) and stopped again with JupyterLab:
# Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# Reuse a test install when there is one (it includes everything this needs).
extras=""
[ -f "$root/.venv/.installed-test" ] && extras="test"
python="$(scripts/ensure_venv.sh $extras)"
bin="$(dirname "$python")"

# A kernel spec inside the venv, so JupyterLab's kernel is this venv's Python.
if [ ! -f "$root/.venv/share/jupyter/kernels/python3/kernel.json" ]; then
  "$python" -m ipykernel install --sys-prefix --name python3 \
    --display-name "Python 3 (infinity-workflows)" >/dev/null
fi

# The rest is `infinity-workflows lab`, what an installed user runs: the create notebook is
# written into visionfit/ when missing, the server is started unless one answers, JupyterLab
# shows the repository and opens at the notebook; Ctrl-C stops both.
exec "$bin/infinity-workflows" lab "$root/visionfit" --root-dir "$root" "$@"
