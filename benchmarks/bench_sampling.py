"""Sampling plus validation: ours against Infinity's original, side by side in one run.

Ours: ``sample_input`` in a loop (and the vectorised ``sample_inputs``) plus
``Schema.validate`` per job, which is what ``Session.validate_job_params`` runs. The baseline:
Infinity's original VisionFit ``sample_input`` plus infinity-core's
``Session.validate_job_params`` (both re-expressed in :mod:`baseline_infinity`), reading the
same VisionFit schema as the API document ``GET api/jobs/visionfit/`` returns. Rounds are
interleaved (every pipeline once per round, in a rotating order) and each pipeline keeps its
best round, so load from other processes on the shared machine touches all of them alike.
Target: ours (loop) at least 20x the baseline's jobs/s.

    .venv/bin/python benchmarks/bench_sampling.py [--jobs 20000] [--rounds 5] [--clock cpu]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline_infinity import CoreSession, original_sample_input  # noqa: E402

from infinity_workflows.schema import Schema  # noqa: E402
from visionfit.generator import VisionFitGenerator  # noqa: E402
from visionfit.utils.sampling import sample_input, sample_inputs  # noqa: E402

Jobs = list[dict[str, Any]]


def check_all_valid(errors: list[str | None], who: str) -> None:
    bad = [e for e in errors if e is not None]
    if bad:
        raise AssertionError(f"{who}: {len(bad)} sampled jobs are invalid, e.g. {bad[0]}")


def pipelines(schema: Schema, n: int) -> dict[str, tuple[Callable[[], Jobs],
                                                         Callable[[Jobs], Any]]]:
    """Each pipeline as (sample n jobs, validate them); the two halves are timed apart."""
    sesh = CoreSession.for_schema("visionfit", schema)

    def ours_loop() -> Jobs:
        r = random.Random(0)
        return [sample_input(schema, rng=r) for _ in range(n)]

    def ours_vectorised() -> Jobs:
        return sample_inputs(schema, n, rng=0)

    def ours_validate(jobs: Jobs) -> None:
        validate = schema.validate
        check_all_valid([validate(job) for job in jobs], "ours")

    def baseline_sample() -> Jobs:
        r = random.Random(0)
        return [original_sample_input(sesh, rng=r) for _ in range(n)]

    def baseline_validate(jobs: Jobs) -> None:
        check_all_valid(sesh.validate_job_params(jobs), "baseline")

    return {"baseline: original sample_input + infinity-core validation":
            (baseline_sample, baseline_validate),
            "ours: sample_input (loop) + Schema.validate": (ours_loop, ours_validate),
            "ours: sample_inputs (vectorised) + Schema.validate":
            (ours_vectorised, ours_validate)}


def timed(clock: Callable[[], float], fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    gc.collect()
    t0 = clock()
    result = fn(*args)
    return clock() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: this process's CPU time (steadier on a shared machine); "
                             "wall: elapsed time")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    schema = VisionFitGenerator.schema
    n = args.jobs
    runs = pipelines(schema, n)
    sample_input(schema)  # bind the table to the schema once, as any first call does

    names = list(runs)
    sample_s: dict[str, list[float]] = {k: [] for k in names}
    validate_s: dict[str, list[float]] = {k: [] for k in names}
    same_jobs: dict[str, list[float]] = {"ours": [], "baseline": []}
    for round_no in range(args.rounds):
        order = names[round_no % len(names):] + names[:round_no % len(names)]
        for name in order:
            draw, check = runs[name]
            t_sample, jobs = timed(clock, draw)
            t_check, _ = timed(clock, check, jobs)
            sample_s[name].append(t_sample)
            validate_s[name].append(t_check)
        # Validation alone, both validators on one list of jobs (ours, vectorised).
        jobs = sample_inputs(schema, n, rng=round_no)
        for who in (["ours", "baseline"] if round_no % 2 else ["baseline", "ours"]):
            fn = runs[names[1]][1] if who == "ours" else runs[names[0]][1]
            same_jobs[who].append(timed(clock, fn, jobs)[0])

    base = names[0]
    totals = {k: [s + v for s, v in zip(sample_s[k], validate_s[k], strict=True)]
              for k in names}
    print(f"{n:,} VisionFit jobs ({len(schema)} parameters), {args.rounds} interleaved rounds, "
          f"best round each, {args.clock} time")
    print(f"{'pipeline':<60}{'sample s':>9}{'valid. s':>9}{'total s':>9}{'jobs/s':>10}"
          f"{'x base':>8}")
    for k in names:
        best = min(totals[k])
        per_round = [b / t for b, t in zip(totals[base], totals[k], strict=True)]
        spread = "" if k == base else (f"   (per round x {min(per_round):.1f} to "
                                       f"{max(per_round):.1f}, median "
                                       f"{statistics.median(per_round):.1f})")
        print(f"{k:<60}{min(sample_s[k]):>9.3f}{min(validate_s[k]):>9.3f}{best:>9.3f}"
              f"{n / best:>10,.0f}{min(totals[base]) / best:>8.1f}{spread}")
    ours_v, base_v = min(same_jobs["ours"]), min(same_jobs["baseline"])
    print(f"validation alone, same {n:,} jobs: Schema.validate {n / ours_v:,.0f} jobs/s, "
          f"infinity-core {n / base_v:,.0f} jobs/s (x {base_v / ours_v:.1f})")
    print(f"sampling alone: ours (loop) x {min(sample_s[base]) / min(sample_s[names[1]]):.1f}, "
          f"ours (vectorised) x {min(sample_s[base]) / min(sample_s[names[2]]):.1f}")


if __name__ == "__main__":
    main()
