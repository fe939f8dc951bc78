"""Benchmark of what ``rerun``'s consent rule costs (a script, not a test).

Writing a record now signs it with the user's Jupyter secret, and ``rerun`` compares its
code cells with its template (or checks the signature) before anything runs. Measured
interleaved in one run, so a loaded machine shifts both sides alike: a Submit record
written with and without its signature, and the consent check of a record that matches its
template and of one that is only signed.

Run: ``.venv/bin/python benchmarks/bench_record_consent.py [--repeat 30]`` (it uses a
throw-away Jupyter data folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

GENERATOR = "visionfit-flagship-v0.1.0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUPYTER_DATA_DIR"] = str(Path(tmp) / "jupyter")
        import nbformat

        from infinity_workflows.records import consent, create_workflow_notebook, read_lineage
        from infinity_workflows.records.rerun import _template_of

        records = Path(tmp) / "records"
        signing = consent.sign_record
        first = create_workflow_notebook("submit", generator=GENERATOR, server="http://x/",
                                         records_dir=records)  # warm-up: imports, secret
        nb = nbformat.read(str(first), as_version=4)
        lineage = {**read_lineage(first), "made_here": True}
        times: dict[str, list[float]] = {k: [] for k in (
            "write, signed", "write, unsigned", "check: template", "check: signature")}
        for _ in range(args.repeat):
            for name in times:
                started = time.perf_counter()
                if name.startswith("write"):
                    consent.sign_record = signing if name == "write, signed" else (
                        lambda _path: None)
                    create_workflow_notebook("submit", generator=GENERATOR,
                                             server="http://x/", records_dir=records)
                else:
                    # No template to compare with: only the signature vouches.
                    why = consent.check_runnable(first, nb, _template_of(lineage) if
                                                 name.endswith("template") else None)
                    assert why == name.split(": ")[1].replace("signature", "signed")
                times[name].append(time.perf_counter() - started)
        consent.sign_record = signing
    median = {k: statistics.median(v) * 1000 for k, v in times.items()}
    for name, ms in median.items():
        print(f"{name:18s} {ms:7.1f} ms (median of {args.repeat})")
    print(f"signed / unsigned write: {median['write, signed'] / median['write, unsigned']:.2f}")


if __name__ == "__main__":
    main()
