"""Sampling speed: jobs/s of sample_input and sample_inputs, alone and with validation.

Validation is what ``Session.validate_job_params`` does per job (``Schema.validate``), on the
VisionFit schema the generator declares. Target: 100,000 jobs sampled and validated in under
4 s on the project's 2-core machine.

    .venv/bin/python benchmarks/bench_sampling.py [--jobs 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from infinity_workflows.schema import Schema
from visionfit.generator import VisionFitGenerator
from visionfit.utils.sampling import sample_input, sample_inputs


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    """The fastest of ``repeat`` runs (the machine is shared; the minimum is the signal)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def validate_all(schema: Schema, jobs: list[dict]) -> list[str | None]:
    errors = [schema.validate(job) for job in jobs]
    bad = [e for e in errors if e is not None]
    if bad:
        raise AssertionError(f"{len(bad)} sampled jobs are invalid, e.g. {bad[0]}")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schema = VisionFitGenerator.schema
    n = args.jobs
    sample_input(schema)  # bind the table to the schema once, as any first call does

    def scalar() -> list[dict]:
        r = random.Random(0)
        return [sample_input(schema, rng=r) for _ in range(n)]

    def vectorised() -> list[dict]:
        return sample_inputs(schema, n, rng=0)

    def fixed() -> list[dict]:
        r = random.Random(0)
        return [sample_input(schema, rng=r, exercise="BURPEE", image_width=512,
                             camera_distance=4.0) for _ in range(n)]

    print(f"{n:,} VisionFit jobs ({len(schema)} parameters), best of {args.repeat}")
    print(f"{'sampler':<42}{'sample s':>10}{'+validate s':>13}{'jobs/s':>12}")
    for label, fn in (("sample_input (loop)", scalar),
                      ("sample_input (loop, 3 fixed incl. category)", fixed),
                      ("sample_inputs (vectorised)", vectorised)):
        t_sample, jobs = best_of(args.repeat, fn)
        t_validate, _ = best_of(args.repeat, lambda jobs=jobs: validate_all(schema, jobs))
        total = t_sample + t_validate
        print(f"{label:<42}{t_sample:>10.2f}{total:>13.2f}{n / total:>12,.0f}"
              f"   (sampling alone {n / t_sample:,.0f} jobs/s)")


if __name__ == "__main__":
    main()
