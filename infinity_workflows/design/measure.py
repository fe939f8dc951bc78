"""Measuring downloaded jobs: what a target is compared with.

A target names a statistic of one of three kinds, looked up in this order:

* **per frame** (or per instance): the generator's optional ``frame_statistics(job_folder)``
  hook, name -> one value per labelled instance in the job's frames (VisionFit: its person
  boxes and keypoints, :data:`~.coco.COCO_STATISTICS`). A batch's values are all its jobs'
  frames pooled, so a long video counts more than a short one;
* **per job**: the generator's declared label summary (``job_statistics``, read through
  :func:`~infinity_workflows.label_statistics.label_statistics_table`);
* **a parameter** from job.json: known before anything is rendered.

The frame hook is separate from the per-job one on purpose: per-job statistics are scalars
every generator can declare cheaply; per-frame arrays are what distributions such as a COCO
file's box sizes are about.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, DataError
from ..generators import Generator

__all__ = ["FRAME", "JOB", "PARAM", "Measured", "frame_statistics", "measure_folder"]

FRAME, JOB, PARAM = "per frame", "per job", "parameter"


def frame_statistics(generator: Generator, job_folder: Path) -> dict[str, np.ndarray]:
    """The generator's per-frame statistics of one job folder ({} if it declares none)."""
    hook = getattr(generator, "frame_statistics", None)
    if hook is None:
        return {}
    return {str(k): np.asarray(v, float).ravel() for k, v in hook(Path(job_folder)).items()}


@dataclass
class Measured:
    """The statistics of a set of downloaded jobs, one entry per job, in one order."""

    job_ids: list[str]
    params: list[dict[str, Any]]
    job_stats: dict[str, np.ndarray]                       # name -> (jobs,)
    frames: list[dict[str, np.ndarray]] = field(repr=False)  # per job: name -> (instances,)

    def __len__(self) -> int:
        return len(self.job_ids)

    def frame_names(self) -> set[str]:
        return {name for f in self.frames for name in f}

    def kind(self, name: str) -> str:
        """Where ``name`` comes from (FRAME, JOB or PARAM); raises naming what exists."""
        if name in self.frame_names():
            return FRAME
        if name in self.job_stats:
            return JOB
        if any(name in p for p in self.params):
            return PARAM
        raise ConfigurationError(
            f"no statistic or parameter called {name!r}; per frame: "
            f"{sorted(self.frame_names()) or 'none declared'}; per job: "
            f"{sorted(self.job_stats) or 'none declared'}")

    def per_job(self, name: str) -> np.ndarray:
        """One value per job: a per-frame statistic's mean over the job's instances."""
        kind = self.kind(name)
        if kind == FRAME:
            return np.array([_mean(f.get(name)) for f in self.frames])
        if kind == JOB:
            return self.job_stats[name].astype(float)
        return np.array([_number(p.get(name)) for p in self.params])

    def pooled(self, name: str, jobs: Iterable[int] | None = None) -> np.ndarray:
        """The batch's values of ``name``: every instance of every frame for a per-frame
        statistic, one per job otherwise (``jobs``: indices to take; None: all)."""
        idx = range(len(self)) if jobs is None else list(jobs)
        if self.kind(name) == FRAME:
            parts = [self.frames[i].get(name, np.zeros(0)) for i in idx]
            return np.concatenate(parts) if parts else np.zeros(0)
        return self.per_job(name)[list(idx)]

    @staticmethod
    def concat(parts: Iterable[Measured]) -> Measured:
        parts = list(parts)
        names = list(dict.fromkeys(k for p in parts for k in p.job_stats))
        return Measured(
            [j for p in parts for j in p.job_ids], [q for p in parts for q in p.params],
            {k: np.concatenate([p.job_stats.get(k, np.full(len(p), np.nan)) for p in parts])
             for k in names},
            [f for p in parts for f in p.frames])


def _mean(values: np.ndarray | None) -> float:
    if values is None:
        return math.nan
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return math.nan


def measure_folder(folder: str | Path, generator: Generator,
                   job_ids: Iterable[str] | None = None) -> Measured:
    """Measure the downloaded jobs of ``folder`` (``job_ids``: those, in that order)."""
    from ..label_statistics import label_statistics_table

    df = label_statistics_table(folder, generator)
    if job_ids is not None:
        wanted = list(job_ids)
        missing = [j for j in wanted if j not in df.index]
        if missing:
            raise DataError(f"{len(missing)} jobs are not downloaded in {folder}: "
                            f"{missing[:3]}")
        df = df.loc[wanted]
    stat_names = list(df.attrs.get("statistics", {}))
    param_cols = list(df.attrs.get("params", []))
    params = [{c.removeprefix("param:"): _plain(row[c]) for c in param_cols
               if not _missing(row[c])} for _, row in df.iterrows()]
    frames = [frame_statistics(generator, Path(p)) for p in df["job_path"]]
    return Measured(list(df.index), params,
                    {n: df[n].to_numpy(float) for n in stat_names}, frames)


def _plain(value: Any) -> Any:
    """A NumPy scalar from the table as the Python value job.json held."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
