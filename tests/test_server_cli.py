"""The command line: ``token create``, the first ``serve`` on a fresh home, home resolution."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import platformdirs
import pytest
import requests

from infinity_workflows.home import HOME_ENV, resolve_home
from tests.support.server import LiveServer, run_cli


def test_token_create_prints_a_working_token_and_stores_only_its_hash(server: LiveServer
                                                                      ) -> None:
    out = run_cli("token", "create", "--home", str(server.home), "--name", "cli-user",
                  env=server.env).stdout
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    assert requests.get(server.url + "api/jobs/", headers=server.headers(token),
                        timeout=10).status_code == 200
    raw = b"".join(p.read_bytes() for p in server.home.glob("infinity.sqlite3*"))
    assert token.encode() not in raw  # a copied database reveals no token


@pytest.mark.slow
def test_first_serve_creates_and_saves_a_token_without_logging_it(tmp_path: Path) -> None:
    srv = LiveServer(home=tmp_path / "home", config=tmp_path / "config",
                     extra_args=["--workers", "1"])
    srv.start()
    try:
        creds = srv.config / "infinity-workflows" / "credentials.json"
        token = json.loads(creds.read_text())[srv.url]
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert stat.S_IMODE(creds.parent.stat().st_mode) == 0o700
        assert requests.get(srv.url + "api/jobs/", headers=srv.headers(token),
                            timeout=10).status_code == 200
        log = srv.log_path.read_text()
        assert str(creds) in log and token not in log
        secret = srv.home / "secret.key"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert (srv.home / "infinity.sqlite3").exists() and (srv.home / "results").is_dir()
        # A second start keeps the token: no new one is made when one exists.
        srv.stop()
        srv.start()
        assert json.loads(creds.read_text()) == {srv.url: token}
    finally:
        srv.stop()


def test_serve_help_lists_its_options(tmp_path: Path) -> None:
    env = LiveServer(home=tmp_path / "h", config=tmp_path / "c").env
    text = run_cli("serve", "--help", env=env).stdout
    for option in ("--host", "--port", "--home", "--workers", "--generator", "--executor",
                   "--max-jobs-per-batch", "--max-body-mb", "--url-ttl-seconds",
                   "--max-attempts"):
        assert option in text
    bad = run_cli("serve", "--workers", "0", env=env, check=False)
    assert bad.returncode == 2 and "at least 1" in bad.stderr


def test_home_comes_from_argument_then_environment_then_user_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home(tmp_path / "explicit").root == tmp_path / "explicit"
    assert resolve_home().root == tmp_path / "from-env"
    monkeypatch.delenv(HOME_ENV)
    expected = Path(platformdirs.user_data_dir("infinity-workflows")).resolve()
    assert resolve_home().root == expected
    home = resolve_home(tmp_path / "made").ensure()
    assert home.results.is_dir() and home.work.is_dir() and home.gallery.is_dir()
    assert home.database == tmp_path / "made" / "infinity.sqlite3"


# -- lab: Jupyter's options in both spellings; its server watched; its log private ---------
def test_lab_hands_jupyter_options_on_in_either_spelling_never_as_the_folder() -> None:
    from infinity_workflows.getting_started import split_lab_args

    assert split_lab_args(["--no-browser", "--port", "18899"]) == (
        None, ["--no-browser", "--port=18899"])
    assert split_lab_args(["work", "--port=18899", "--ServerApp.token", "t", "--debug"]) == (
        "work", ["--port=18899", "--ServerApp.token=t", "--debug"])
    assert split_lab_args(["--port", "1", "--no-browser", "work"]) == (
        "work", ["--port=1", "--no-browser"])
    assert split_lab_args(["--", "--port", "1"]) == (None, ["--port", "1"])
    from infinity_workflows.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="two folders"):
        split_lab_args(["a", "b"])


def test_the_flags_lab_knows_are_jupyterlabs() -> None:
    """Every option of the installed JupyterLab that takes no value is known as one, so the
    word after it is never swallowed as its value."""
    from jupyterlab.labapp import LabApp

    from infinity_workflows.getting_started import JUPYTER_FLAGS

    flags = {name for key in LabApp.flags
             for name in ((key,) if isinstance(key, str) else key)}
    assert flags <= JUPYTER_FLAGS, sorted(flags - JUPYTER_FLAGS)


def _lab_env(tmp_path: Path) -> dict[str, str]:
    from tests.support.server import cli_env

    (tmp_path / "tmp").mkdir()
    return {**cli_env(tmp_path / "home", tmp_path / "config"), "TMPDIR": str(tmp_path / "tmp"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "BROWSER": "false"}


def _lab_answers(port: int, token: str) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/contents/create_a_workflow.ipynb",
                            headers={"Authorization": f"token {token}"},
                            timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop_lab(proc) -> int:
    import os
    import signal
    import subprocess

    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
    try:
        return proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_lab_with_port_in_the_space_form_answers_there(server: LiveServer,
                                                       tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.support.server import free_port
    from tests.support.waiting import wait_for

    port, token = free_port(), "lab-port-token"
    work = tmp_path / "work"
    work.mkdir()
    out = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(  # no DIR: the current folder, as the README's example
        [sys.executable, "-m", "infinity_workflows", "lab", "--no-browser",
         "--port", str(port), "--server", server.url, "--ServerApp.ip", "127.0.0.1",
         "--ServerApp.token", token],
        env=_lab_env(tmp_path), cwd=work, stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: _lab_answers(port, token) or proc.poll() is not None, timeout=180,
                 what=f"JupyterLab on port {port}")
        assert proc.poll() is None, (tmp_path / "lab.log").read_text()
        assert (work / "create_a_workflow.ipynb").is_file()
        assert not (work / str(port)).exists()  # the port's value is not a folder
        assert f"Using the server already running at {server.url}" in \
            (tmp_path / "lab.log").read_text()
    finally:
        code = _stop_lab(proc)
    assert code == 130, (tmp_path / "lab.log").read_text()


@pytest.mark.slow
def test_lab_restarts_its_server_when_it_dies_and_keeps_its_log_private(
        tmp_path: Path) -> None:
    """The local server `lab` started is killed: lab says so and starts it again. Its log is
    in the server's home, 0600, and a symbolic link planted at the log's name (or at the old
    fixed name in the temporary folder) is replaced, its target untouched."""
    import os
    import re
    import signal
    import subprocess
    import sys

    from tests.support.server import free_port
    from tests.support.waiting import wait_for

    api_port, port, token = free_port(), free_port(), "lab-watch-token"
    url = f"http://127.0.0.1:{api_port}/"
    env = _lab_env(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    logs = tmp_path / "home" / "logs"
    logs.mkdir(parents=True)
    (logs / f"lab-server-{api_port}.log").symlink_to(victim)
    (tmp_path / "tmp" / f"infinity-workflows-server-{api_port}.log").symlink_to(victim)
    said = tmp_path / "lab.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infinity_workflows", "lab", str(tmp_path / "work"),
         "--no-browser", "--port", str(port), "--server", url, "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.token={token}"],
        env=env, cwd=tmp_path, stdout=said.open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)

    def server_answers() -> bool:
        try:
            return requests.get(url + "api/schema/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(lambda: (_lab_answers(port, token) and server_answers())
                 or proc.poll() is not None, timeout=240, what="lab and its server")
        assert proc.poll() is None, said.read_text()
        first = int(re.search(r"Starting the local server at \S+ \(pid (\d+)",
                              said.read_text()).group(1))
        log = logs / f"lab-server-{api_port}.log"
        assert not log.is_symlink() and stat.S_IMODE(log.stat().st_mode) == 0o600
        assert stat.S_IMODE(logs.stat().st_mode) == 0o700
        assert victim.read_text() == "keep me"
        assert "Uvicorn running" in log.read_text() or log.stat().st_size > 0

        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "answers again" in said.read_text() or proc.poll() is not None,
                 timeout=240, what="lab restarting its server")
        text = said.read_text()
        assert f"the local server (pid {first}) stopped" in text and "Restarting" in text
        assert server_answers() and _lab_answers(port, token)
    finally:
        code = _stop_lab(proc)
    assert code == 130, said.read_text()
    assert victim.read_text() == "keep me"
    wait_for(lambda: not server_answers(), timeout=60, what="the restarted server to stop")


def test_hints_name_the_commands_of_a_pip_install(tmp_path: Path) -> None:
    """An installed copy (no run_notebooks.sh beside it): the client's ServerUnreachable,
    the notebooks' sentence and init's next step all name `infinity-workflows ...`, from the
    one function that decides it."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.support.server import ROOT, free_port

    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "infinity_workflows", site / "infinity_workflows",
                    ignore=shutil.ignore_patterns("__pycache__"))
    url = f"http://127.0.0.1:{free_port()}/"
    code = ("import infinity_workflows, json\n"
            "from infinity_workflows import api\n"
            "from infinity_workflows.errors import ServerUnreachable\n"
            "from infinity_workflows.getting_started import init_folder\n"
            "from infinity_workflows.workflow import explain_error\n"
            f"t = api.Transport({url!r}, 'x' * 40, retries=0)\n"
            "try:\n    api.list_generators(t)\nexcept ServerUnreachable as exc:\n"
            "    error = exc\n"
            "print(json.dumps({'file': infinity_workflows.__file__, 'transport': str(error),\n"
            f"    'explain': explain_error(error, {url!r}),\n"
            "    'init': init_folder('work').describe()}))\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120, check=True).stdout
    said = json.loads(out.strip().splitlines()[-1])
    assert Path(said["file"]).is_relative_to(site)  # really the installed copy
    for where in ("transport", "explain"):
        assert "`infinity-workflows serve`" in said[where], said[where]
        assert "infinity-workflows lab" in said[where] and "run_notebooks" not in said[where]
    assert said["init"].splitlines()[-1] == f"Next: infinity-workflows lab {tmp_path / 'work'}"
