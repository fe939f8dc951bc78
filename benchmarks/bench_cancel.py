"""Cancel during Wait and Download: how soon the Download interface says it, and how soon the
wait ends with the counts, as ratios to a bare ``POST api/batch/<id>/cancel/`` measured in the
same rounds (the machine is shared, so only ratios compare).

Each round submits two batches of one quick job and six minute-long ones to a real local
server (two workers). On the first, Wait and Download runs in its thread beside this one
until the quick job is on disk; then Cancel is clicked here, as the kernel's thread would
run it. The second is cancelled with the API call alone. The order alternates per round.

    .venv/bin/python benchmarks/bench_cancel.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import LiveServer  # noqa: E402  (the test suite's server launcher)
from tests.support.waiting import wait_for  # noqa: E402

JOBS = [{"frames": 1}] + [{"sleep_s": 60.0}] * 6


def widget_round(sesh, folder: Path) -> tuple[float, float]:
    """Seconds from Cancel's click to its sentence, and to the wait's final counts."""
    from infinity_workflows.widgets.download import DownloadInterface

    batch = sesh.submit(JOBS, batch_name="bench cancel widget")
    ui = DownloadInterface(batch, folder, polling_interval=0.5, timeout=300)
    ui.wait_button.click()
    wait_for(lambda: "1 downloaded" in ui.status.value, timeout=120, what="the quick job")
    clicked = time.perf_counter()
    ui.cancel_button.click()
    said = time.perf_counter() - clicked
    assert "queued or running job(s)" in ui.message.value, ui.message.value
    report = ui.join(timeout=120)
    settled = time.perf_counter() - clicked
    assert report is not None and report.in_progress == 0, ui.message.value
    return said, settled


def api_round(sesh) -> float:
    from infinity_workflows import api

    batch = sesh.submit(JOBS, batch_name="bench cancel api")
    wait_for(lambda: batch.get_valid_completed_jobs(), timeout=120, what="the quick job")
    started = time.perf_counter()
    api.cancel_batch(sesh.transport, batch.batch_id)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from infinity_workflows import Session

    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer.launch(Path(tmp), "--workers", "2", "--log-level", "warning")
        try:
            sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
            said: list[float] = []
            settled: list[float] = []
            bare: list[float] = []

            def widget(r: int) -> None:
                shown, ended = widget_round(sesh, Path(tmp) / f"dl{r}")
                said.append(shown)
                settled.append(ended)

            for r in range(args.rounds):
                if r % 2:
                    bare.append(api_round(sesh))
                    widget(r)
                else:
                    widget(r)
                    bare.append(api_round(sesh))
        finally:
            srv.stop()
    ref = statistics.median(bare)
    print(f"rounds: {args.rounds}; bare API cancel median {ref * 1000:.1f} ms")
    for name, values in (("Cancel's sentence shown", said),
                         ("wait ended with final counts", settled)):
        med = statistics.median(values)
        print(f"{name}: median {med * 1000:.1f} ms ({med / ref:.1f}x the bare cancel), "
              f"max {max(values) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
