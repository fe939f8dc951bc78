"""Start-up cost: what a user pays before the toolkit does anything, in fresh processes.

Each case is one fresh Python process, timed from outside (wall clock, process start to
exit), and compared with a reference paid in the same round:

* ``import infinity_workflows`` and ``infinity-workflows --help`` against ``import requests``
  (targets: at most 3x and 4x);
* rendering one Submit record from the packaged template (``create_workflow_notebook``, what
  the create notebook's button does, in a process that imported nothing before) against
  ``import pandas`` (target: at most 2x);
* for information: ``from infinity_workflows import Session`` (the client and sampling
  engine), the server app, and ``serve --help``.

The machine is shared and noisy, so the cases run interleaved, round after round, and the
report gives each case's median and its ratio to its reference's median. Run from the
checkout with the project's venv:

    .venv/bin/python benchmarks/bench_startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("infinity-workflows"))

RENDER = (
    "from infinity_workflows.records import create_workflow_notebook\n"
    "create_workflow_notebook('submit', generator='visionfit-flagship-v0.1.0',\n"
    "    server='http://127.0.0.1:8765/', records_dir={folder!r})\n"
)

# name -> (command, reference name or None)
CASES: dict[str, tuple[list[str], str | None]] = {
    "import requests": ([sys.executable, "-c", "import requests"], None),
    "import pandas": ([sys.executable, "-c", "import pandas"], None),
    "import infinity_workflows": ([sys.executable, "-c", "import infinity_workflows"],
                                  "import requests"),
    "infinity-workflows --help": ([CLI, "--help"], "import requests"),
    "render a Submit record": ([sys.executable, "-c", RENDER], "import pandas"),
    "from infinity_workflows import Session": (
        [sys.executable, "-c", "from infinity_workflows import Session"], "import requests"),
    "infinity-workflows serve --help": ([CLI, "serve", "--help"], "import requests"),
    "import the server app": (
        [sys.executable, "-c", "from infinity_workflows.server import create_app; create_app"],
        "import requests"),
}
TARGETS = {"import infinity_workflows": 3.0, "infinity-workflows --help": 4.0,
           "render a Submit record": 2.0}


def run_once(command: list[str], folder: str) -> float:
    command = [part.format(folder=folder) if "{folder" in part else part for part in command]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=folder, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}, timeout=300)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as folder:
        for command, _ in CASES.values():  # warm the file cache and .pyc files
            run_once(command, folder)
        for _ in range(args.rounds):
            for name, (command, _) in CASES.items():
                times[name].append(run_once(command, folder))
    load = os.getloadavg()[0]
    print(f"fresh processes, median of {args.rounds} interleaved rounds, "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'case':<42}{'median s':>10}{'ratio':>28}{'target':>10}")
    for name, (_, reference) in CASES.items():
        median = statistics.median(times[name])
        ratio = ""
        if reference:
            ratio = f"{median / statistics.median(times[reference]):.2f}x {reference}"
        target = f"<= {TARGETS[name]:.0f}x" if name in TARGETS else ""
        print(f"{name:<42}{median:>10.3f}{ratio:>28}{target:>10}")


if __name__ == "__main__":
    main()
