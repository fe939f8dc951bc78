#!/usr/bin/env bash
# Open JupyterLab at visionfit/create_a_workflow.ipynb, with the local server running and a
# Python kernel of the project's .venv.
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

server="${INFINITY_SERVER_URL:-http://127.0.0.1:8765/}"
server="${server%/}/"
export INFINITY_SERVER_URL="$server"

answers() {
  "$python" - "$1" <<'PY'
import sys, requests
try:
    ok = requests.get(sys.argv[1] + "api/schema/", timeout=2).status_code == 200
except requests.RequestException:
    ok = False
sys.exit(0 if ok else 1)
PY
}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    echo "Stopping the local server (pid $server_pid) ..." >&2
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if answers "$server"; then
  echo "Using the server already running at $server" >&2
else
  read -r host port < <("$python" - "$server" <<'PY'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print(u.hostname or "", u.port or (443 if u.scheme == "https" else 80))
PY
)
  case "$host" in
    127.0.0.1|localhost|::1) ;;
    *) echo "No answer from $server, and it is not a local address, so it cannot be" \
            "started here. Check INFINITY_SERVER_URL." >&2
       exit 1 ;;
  esac
  log="${TMPDIR:-/tmp}/infinity-workflows-server-$port.log"
  echo "Starting the local server at $server (log: $log) ..." >&2
  "$bin/infinity-workflows" serve --host "$host" --port "$port" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "The local server exited; its log ($log) ends with:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    answers "$server" && break
    sleep 0.2
  done
  answers "$server" || { echo "The local server did not answer within a minute; see $log" >&2; exit 1; }
fi

# JupyterLab refuses to run as root without --allow-root; in a container or a root shell
# that is the usual case, so say it for the user instead of failing.
lab_args=()
if [ "$(id -u)" = "0" ] && [[ " $* " != *" --allow-root "* ]]; then
  lab_args+=(--allow-root)
fi

# Not exec: this shell stays to stop the server when JupyterLab ends.
# The repository is the root (templates and records in view); the lab opens on the notebook.
"$bin/jupyter" lab --ServerApp.root_dir="$root" \
  --LabApp.default_url=/lab/tree/visionfit/create_a_workflow.ipynb "${lab_args[@]}" "$@" &
lab_pid=$!
# SIGTERM is JupyterLab's clean shutdown without its "are you sure?" prompt.
trap 'kill -TERM "$lab_pid" 2>/dev/null; wait "$lab_pid" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$lab_pid" 2>/dev/null; wait "$lab_pid" 2>/dev/null; exit 143' TERM
wait "$lab_pid"
