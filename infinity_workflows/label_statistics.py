"""A downloaded batch's per-job label statistics, from its generator's declared label summary.

The core knows no generator's labels: each generator declares ``label_statistics`` and
computes them for one job folder (``Generator.job_statistics``). The curation gallery and
design to a target read a batch through :func:`label_statistics_table` only, so both work
for any generator that declares a summary (and show parameters alone for one that does not).
pandas is imported when a table is made, so importing this module stays light.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, MissingDataError
from .generators import PREVIEW_FILE, Generator, installed_generator

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JOB_FILE", "downloaded_job_folders", "label_statistics_table", "read_job_file"]

# What every job folder written by a generator of this project holds: {name, version, seed,
# params}. A folder without one is still listed (its parameters unknown).
JOB_FILE = "job.json"


def downloaded_job_folders(folder: str | Path) -> list[Path]:
    """The job folders ``<folder>/<job_id>/`` of a downloaded batch, sorted; hidden folders
    (an unfinished download's staging, the gallery's cache) are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise MissingDataError(f"{root} is not a folder; pass the folder a batch was "
                               f"downloaded into (it holds one sub-folder per job)")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_job_file(job_dir: Path) -> dict[str, Any]:
    """The job's job.json ({} when it has none or it is not a JSON object)."""
    path = Path(job_dir) / JOB_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _generator_for(name: str | None, cache: dict[str | None, Generator | None],
                   ) -> Generator | None:
    if name not in cache:
        cache[name] = installed_generator(name) if name else None
    return cache[name]


def label_statistics_table(
        folder: str | Path, generator: Generator | str | None = None,
        progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per downloaded job of ``folder``, indexed by job id: ``job_path``,
    ``has_preview``, the generator's label statistics, then every parameter from job.json.

    ``generator`` (an instance or a name) computes the statistics; None: the one each job's
    job.json names, found among the installed generators. ``df.attrs`` holds
    ``statistics`` (column -> description, the declared ones first) and ``params`` (the
    parameter columns), so a caller tells statistics from parameters without guessing.
    A parameter named like a statistic is kept as ``param:<name>``. ``progress(done,
    total)`` is called as jobs are read.
    """
    import pandas as pd

    fixed = _generator_for(generator, {}) if isinstance(generator, str) else generator
    if isinstance(generator, str) and fixed is None:
        raise ConfigurationError(f"no installed generator is called {generator!r}; install its "
                                 f"package, or pass None to use the one each job names")
    cache: dict[str | None, Generator | None] = {}
    job_dirs = downloaded_job_folders(folder)
    rows: list[dict[str, Any]] = []
    params_of: list[dict[str, Any]] = []
    declared: dict[str, str] = {}
    for done, job_dir in enumerate(job_dirs, start=1):
        job = read_job_file(job_dir)
        gen = fixed or _generator_for(job.get("name"), cache)
        stats = gen.job_statistics(job_dir) if gen is not None else {}
        if gen is not None:
            for name, text in gen.label_statistics.items():
                declared.setdefault(name, text)
        rows.append({"job_id": job_dir.name, "job_path": str(job_dir),
                     "has_preview": (job_dir / PREVIEW_FILE).is_file(),
                     **{k: float(v) if v is not None else math.nan
                        for k, v in stats.items()}})
        params = job.get("params")
        params_of.append(dict(params) if isinstance(params, dict) else {})
        if progress is not None:
            progress(done, len(job_dirs))
    stat_names = list(dict.fromkeys(
        [*declared, *(k for row in rows for k in row
                      if k not in ("job_id", "job_path", "has_preview"))]))
    param_names = list(dict.fromkeys(k for p in params_of for k in p))
    renamed = {p: f"param:{p}" if p in stat_names or p in ("job_id", "job_path",
                                                              "has_preview") else p
               for p in param_names}
    records = [{**row, **{renamed[k]: v for k, v in p.items()}}
               for row, p in zip(rows, params_of, strict=True)]
    columns = ["job_id", "job_path", "has_preview", *stat_names, *renamed.values()]
    df = pd.DataFrame.from_records(records, columns=columns).set_index("job_id")
    for name in stat_names:  # a declared statistic no job had is a column of nan
        df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
    df.attrs["statistics"] = {n: declared.get(n, "") for n in stat_names}
    df.attrs["params"] = list(renamed.values())
    return df
