"""The toolkit as a user installs it: a built wheel in a fresh virtual environment (no
editable install, no checkout on ``sys.path``), used from an empty folder of the user's own.

``init`` writes the notebooks there; a headless create -> submit -> download -> export flow
runs against a local server started from the same environment; afterwards every file the
flow wrote is under the user's folder or the server's home (the user's home holds only the
caches of Jupyter, IPython and the like), and nothing was written into the environment's
packages or the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.server import ROOT, free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

VISIONFIT = "visionfit-flagship-v0.1.0"
# Where Jupyter, IPython, matplotlib and the renderer's compiled-code cache keep their own
# files in a user's home: tools' caches, never the toolkit's output.
TOOL_FOLDERS = (".cache/", ".ipython/", ".local/share/jupyter/", ".jupyter/",
                ".config/matplotlib/", ".config/ipython/", ".matplotlib/")


def run(*args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 900
        ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with home ``home``: no PYTHONPATH (so no checkout on the
    path), no project settings inherited from the test run."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("INFINITY_", "XDG_", "JUPYTER",
                                                      "JPY_", "MPLCONFIGDIR", "NUMBA_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"),
               **extra)
    return env


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def package_files(venv: Path) -> dict[Path, tuple[int, int]]:
    """Every file of the installed packages but Python's own bytecode cache."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in files_under(venv / "lib")
            if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel built from this tree (and its dependencies)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is not built
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    env = clean_env(base / "builder")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", src,
        env=env, cwd=base)
    (wheel,) = (base / "dist").glob("infinity_workflows-*.whl")
    run(sys.executable, "-m", "venv", base / "venv", env=env, cwd=base)
    # --no-compile: byte-compiling ~150 packages would double the install time.
    run(base / "venv" / "bin" / "pip", "install", "-q", "--no-compile", wheel, env=env,
        cwd=base)
    return base / "venv"


def test_the_wheel_works_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    venv_bin = installed / "bin"
    work, srv_home, user_home = tmp_path / "work", tmp_path / "server", tmp_path / "home"
    for folder in (work, srv_home, user_home):
        folder.mkdir()
    before_packages = package_files(installed)
    checkout_status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT,
                                     capture_output=True, text=True).stdout
    env = clean_env(user_home)

    # The installed packages, not a checkout.
    where = run(venv_bin / "python", "-c", "import infinity_workflows, visionfit, sys; "
                "print(infinity_workflows.__file__); print(visionfit.__file__); "
                "print(sys.path)", env=env, cwd=work).stdout.splitlines()
    assert all(line.startswith(str(installed)) for line in where[:2]), where
    assert str(ROOT) not in where[2]

    # init: the create notebook and the examples, and the next command.
    out = run(venv_bin / "infinity-workflows", "init", env=env, cwd=work).stdout
    assert "infinity-workflows lab" in out
    assert (work / "create_a_workflow.ipynb").is_file()
    assert sorted(p.name for p in (work / "examples").iterdir()) == [
        "parameter_sweep_demo.ipynb", "submit_and_download_batch_demo.ipynb"]

    # A local server from the same environment, its files in its own home.
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    srv_env = clean_env(srv_home / "user")
    token = run(venv_bin / "infinity-workflows", "token", "create", "--home", srv_home,
                "--name", "wheel", env=srv_env, cwd=srv_home).stdout.strip().splitlines()[-1]
    with open(srv_home / "serve.log", "wb") as log:
        server = subprocess.Popen([venv_bin / "infinity-workflows", "serve", "--home", srv_home,
                                   "--port", str(port), "--workers", "2"], env=srv_env,
                                  cwd=srv_home, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(url) or server.poll() is not None, timeout=120,
                 what="the installed server")
        assert server.poll() is None, (srv_home / "serve.log").read_text()
        user = clean_env(user_home, INFINITY_API_TOKEN=token, INFINITY_SERVER_URL=url)
        _create_submit_download_export(venv_bin, work, user, url)
    finally:
        server.terminate()
        server.wait(timeout=60)

    # Every file written: under the work folder, the server's home, or tools' caches.
    written = files_under(tmp_path)
    stray = sorted(str(p.relative_to(tmp_path)) for p in written
                   if not (p.is_relative_to(work) or p.is_relative_to(srv_home))
                   and not (p.is_relative_to(user_home) and str(p.relative_to(user_home))
                            .startswith(TOOL_FOLDERS)))
    assert stray == []
    after_packages = package_files(installed)
    assert sorted(set(after_packages) - set(before_packages)) == []
    assert [p for p in before_packages if after_packages.get(p) != before_packages[p]] == []
    assert subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT,
                          capture_output=True, text=True).stdout == checkout_status


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "api/schema/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _create_submit_download_export(venv_bin: Path, work: Path, env: dict[str, str],
                                   url: str) -> None:
    cli = venv_bin / "infinity-workflows"
    # Create: what the create notebook's button does.
    created = run(venv_bin / "python", "-c",
                  "from infinity_workflows.records import create_workflow_notebook as c; "
                  f"print(c('submit', generator={VISIONFIT!r}, server={url!r}))",
                  env=env, cwd=work).stdout.strip()
    submit = Path(created)
    assert submit.parent.parent == work / "workflow_records"
    # Submit, headless, as a re-run of the record.
    rerun = run(cli, "rerun", submit, "-p", "SUBMIT_NOW", "True", "-p", "NUM_JOBS", "2",
                "-p", "IS_PREVIEW", "False", "-p", "IMAGE_SIZE", "128", "-p", "FRAME_RATE",
                "6", "-p", "MAX_REPS", "1", "-p", "SEED", "1", "-p", "BATCH_NAME",
                "wheel batch", env=env, cwd=work).stdout.strip().splitlines()[-1]
    (download,) = Path(rerun).parent.glob("download_batch_*.ipynb")
    batch_id = json.loads(download.read_text())["metadata"]["infinity_workflows"]["batch_id"]
    # Download and export, headless.
    run(cli, "rerun", download, "-p", "DOWNLOAD_NOW", "True", "-p", "EXPORT_COCO", "True",
        "-p", "POLLING_INTERVAL", "0.5", env=env, cwd=work)
    folder = work / "downloads" / "wheel batch" / f"batch_ID_{batch_id}"
    assert len(list(folder.glob("*/video.mp4"))) == 2
    dataset = json.loads((folder.parent / f"batch_ID_{batch_id}_coco" / "annotations.json")
                         .read_text())
    assert len(dataset["jobs"]) == 2 and dataset["images"]
    rows = [line.split() for line in run(cli, "records", env=env, cwd=work).stdout.splitlines()]
    by_notebook = {row[1]: row for row in rows[1:]}
    assert batch_id in by_notebook[Path(rerun).name]  # the Submit record that submitted
    assert batch_id in by_notebook[download.name]
    assert by_notebook[submit.name][5] == "-"  # the record create made, never run
