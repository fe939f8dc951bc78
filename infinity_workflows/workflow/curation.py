"""Curation: pick previews by their parameters and label statistics, rerun them as videos.

The gallery widget (:mod:`infinity_workflows.widgets.gallery`) is a thin view over this:
:class:`Curation` holds one downloaded batch's table (the generator's declared label summary
plus the parameters, :mod:`infinity_workflows.label_statistics`), small thumbnails made once
and kept as files under ``<folder>/.gallery/`` (:mod:`.curation_cache`), and answers
filters, a sort and pages with NumPy masks over columns held as arrays, so a redraw over
thousands of previews costs milliseconds. :func:`write_rerun_record` and
:func:`submit_rerun` turn a selection into a Submit record whose lineage names the previews
batch and the selected jobs; the selection is saved beside it (:data:`SELECTION_FILE`) and
read back with :func:`read_selection`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError, ValidationError
from ..files import write_text_atomic
from ..snippets import NotebookSnippet
from ..trust import parse_uuid
from .curation_cache import CACHE_FOLDER, THUMB_PX, ThumbPack, cached_table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..batch import Batch
    from ..session import Session

__all__ = [
    "CACHE_FOLDER",
    "SELECTION_FILE",
    "Curation",
    "Filter",
    "RerunPlan",
    "plan_rerun",
    "read_selection",
    "submit_rerun",
    "write_rerun_record",
]

SELECTION_FILE = "selection.json"    # beside a rerun's Submit record


@dataclass(frozen=True)
class Filter:
    """One condition on a column: a closed range ``[low, high]`` (either end None: open) for
    a number, or a set of ``values`` for anything else."""

    column: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None

    def describe(self) -> str:
        if self.values is not None:
            return f"{self.column} in {{{', '.join(map(str, self.values))}}}"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{self.column} in [{low}, {high}]"


@dataclass
class Curation:
    """A downloaded batch as a filterable, sortable, pageable table with thumbnails."""

    folder: Path
    frame: pd.DataFrame                          # index: job id
    statistics: dict[str, str]                   # column -> description
    params: list[str]
    thumbs: ThumbPack
    _arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _uris: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: str | Path, generator: Any = None, *, thumb_px: int = THUMB_PX,
             progress: Callable[[str], None] | None = None) -> Curation:
        """Read ``folder`` (a downloaded batch): the statistics table and thumbnails are
        made for jobs not seen before and cached under ``<folder>/.gallery/``;
        ``progress(text)`` hears how far a first read has got."""
        import pandas as pd

        folder = Path(folder)
        cache = folder / CACHE_FOLDER
        cache.mkdir(parents=True, exist_ok=True)
        frame = cached_table(folder, cache, generator, progress)
        thumbs = ThumbPack(cache / f"thumbs{thumb_px}-jpeg")
        thumbs.update(zip(frame.index, frame["job_path"], strict=True), thumb_px, progress)
        statistics = dict(frame.attrs.get("statistics", {}))
        params = list(frame.attrs.get("params", []))
        frame = frame.reset_index()
        frame.index = pd.Index(frame["job_id"].astype(str), name="job_id")
        return cls(folder, frame, statistics, params, thumbs)

    def __post_init__(self) -> None:
        import numpy as np

        for column in self.frame.columns:
            values = self.frame[column]
            if values.dtype.kind in "biuf":
                self._arrays[column] = values.to_numpy(dtype=float)
            else:
                self._arrays[column] = values.astype(str).to_numpy()
        self._ids = self.frame.index.to_numpy()
        self._all = np.arange(len(self.frame))

    @property
    def job_ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def columns(self) -> list[str]:
        """What a filter or sort may name: the statistics, then the parameters."""
        return [*self.statistics, *self.params]

    def varying(self) -> list[str]:
        """The statistics that differ between jobs and are not a copy of an earlier one (a
        preview's min, mean and max are its one frame's value): a caption's worth showing."""
        import numpy as np

        out: list[str] = []
        for name in self.statistics:
            values = self._arrays[name]
            finite = values[np.isfinite(values)]
            if not len(finite) or finite.min() == finite.max():
                continue
            if not any(np.array_equal(values, self._arrays[o], equal_nan=True) for o in out):
                out.append(name)
        return out

    def is_numeric(self, column: str) -> bool:
        return self._arrays[column].dtype.kind == "f"

    def choices(self, column: str) -> list[str]:
        """The distinct values of a non-numeric column, sorted."""
        return sorted(set(self._arrays[column].tolist()))

    def bounds(self, column: str) -> tuple[float, float]:
        import numpy as np

        values = self._arrays[column]
        values = values[np.isfinite(values)]
        return (float(values.min()), float(values.max())) if len(values) else (math.nan,) * 2

    def _column(self, name: str) -> np.ndarray:
        try:
            return self._arrays[name]
        except KeyError:
            raise ValidationError(f"no column {name!r} in this batch; choose among "
                                  f"{', '.join(self.columns())}") from None

    def select_rows(self, filters: Sequence[Filter] = (), sort_by: str | None = None,
                    descending: bool = False) -> np.ndarray:
        """Row positions passing every filter, sorted by ``sort_by`` (nan last; ties in
        job order)."""
        import numpy as np

        mask = np.ones(len(self._ids), bool)
        for f in filters:
            values = self._column(f.column)
            if f.values is not None:
                mask &= np.isin(values, np.asarray([str(v) for v in f.values]
                                                   if values.dtype.kind != "f" else f.values))
                continue
            if values.dtype.kind != "f":
                raise ValidationError(f"{f.column} is not a number; filter it by values")
            with np.errstate(invalid="ignore"):
                if f.low is not None:
                    mask &= values >= f.low
                if f.high is not None:
                    mask &= values <= f.high
        rows = self._all[mask]
        if sort_by:
            key = self._column(sort_by)[rows]
            if key.dtype.kind == "f":
                finite = np.isfinite(key)
                order = np.argsort(-key if descending else key, kind="stable")
                order = np.concatenate([order[finite[order]], order[~finite[order]]])
            else:
                order = np.argsort(key, kind="stable")
                if descending:
                    order = order[::-1]
            rows = rows[order]
        return rows

    def ids_of(self, rows: np.ndarray) -> list[str]:
        return self._ids[rows].tolist()

    def value(self, job_id: str, column: str) -> Any:
        return self.frame.at[job_id, column]

    def thumbnail(self, job_id: str) -> bytes:
        """The job's thumbnail JPEG (b"" without a preview)."""
        return self.thumbs.get(job_id)

    def thumbnail_uri(self, job_id: str) -> str:
        """The thumbnail as a ``data:`` URI ("" without a preview), encoded once."""
        uri = self._uris.get(job_id)
        if uri is None:
            data = self.thumbs.get(job_id)
            uri = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii") \
                if data else ""
            self._uris[job_id] = uri
        return uri



# -- rerunning a selection ------------------------------------------------------------------
RERUN_SNIPPET = NotebookSnippet(parameters="""\
RERUN_OF_BATCH = ""  # the previews batch whose jobs are rerun (set by the gallery)
RERUN_JOB_IDS = []   # the selected preview jobs, each rerun from its own seed
OVERRIDES = {}       # parameters changed in every rerun job""", cells="""\
# %% [markdown]
# ## Rerun the selected previews
#
# Chosen in the curation gallery: each selected preview job of `RERUN_OF_BATCH` again, from
# its own seed (`state` = its id), with `OVERRIDES` applied. The selection is also saved in
# `selection.json` beside this notebook.

# %%
from infinity_workflows.seed_reruns import expand_overrides_across_each_preview_state
from infinity_workflows.workflow import open_batch

previews_batch = open_batch(sesh, RERUN_OF_BATCH)
job_params = expand_overrides_across_each_preview_state(OVERRIDES, previews_batch,
                                                        job_ids=RERUN_JOB_IDS)
print(f"{len(job_params)} jobs from {len(RERUN_JOB_IDS)} previews of {RERUN_OF_BATCH}")
""")


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun of a selection will submit: checked, before anything is written."""

    previews_batch_id: str
    job_ids: list[str]
    overrides: dict[str, Any]
    batch_name: str
    generator: str
    server: str
    filters: list[str] = field(default_factory=list)
    sort: str | None = None

    def describe(self) -> str:
        changed = ", ".join(f"{k}={v!r}" for k, v in self.overrides.items()) or "nothing"
        return (f"{len(self.job_ids)} preview job(s) of batch {self.previews_batch_id} "
                f"rerun as videos from their seeds, changing {changed}, as batch "
                f"{self.batch_name!r}")


def plan_rerun(previews_batch: Batch, job_ids: Iterable[str],
               overrides: Mapping[str, Any] | None = None, batch_name: str | None = None,
               filters: Sequence[Filter] = (), sort: str | None = None) -> RerunPlan:
    """Check a selection (ids of the batch's jobs, overrides valid for the schema)."""
    ids = list(dict.fromkeys(parse_uuid(j, "job id") for j in job_ids))
    if not ids:
        raise ValidationError("nothing is selected: click previews (or Select all shown) "
                              "before rerunning them")
    known = {j["id"] for j in previews_batch.jobs}
    missing = [j for j in ids if j not in known]
    if missing:
        raise ValidationError(f"{len(missing)} selected job(s) are not in batch "
                              f"{previews_batch.batch_id}: {', '.join(missing[:3])}")
    overrides = dict(overrides or {})
    if "state" in overrides:
        raise ValidationError("overrides may not set 'state': each rerun job takes its "
                              "preview's id, so it renders from the same seed")
    session = previews_batch.session
    problems = [v.message for v in session.schema.violations(overrides)] \
        if overrides else []
    if problems:
        raise ValidationError("overrides: " + "; ".join(problems), errors=problems)
    name = batch_name or f"{previews_batch.name or previews_batch.batch_id}-rerun-videos"
    return RerunPlan(previews_batch.batch_id, ids, overrides, name, session.generator,
                     session.server, [f.describe() for f in filters], sort)


def write_rerun_record(plan: RerunPlan, records_dir: str | Path | None = None,
                       submit_now: bool = False) -> Path:
    """A new Submit record that reruns the plan's jobs as videos, its lineage naming the
    previews batch and the selection; ``selection.json`` beside it. Returns its path."""
    from ..records.render import (
        build_record,
        new_record_folder,
        place_record,
        publish_exclusive,
        template_notebook,
    )
    from ..records.snippets import apply_snippet

    nb, template_name = template_notebook("submit", None)
    apply_snippet(nb, RERUN_SNIPPET)
    parameters = {"GENERATOR": plan.generator, "SERVER": plan.server,
                  "NUM_JOBS": len(plan.job_ids), "IS_PREVIEW": False,
                  "BATCH_NAME": plan.batch_name, "SUBMIT_NOW": submit_now,
                  "RERUN_OF_BATCH": plan.previews_batch_id,
                  "RERUN_JOB_IDS": list(plan.job_ids), "OVERRIDES": dict(plan.overrides)}
    nb = build_record("submit", parameters, nb, template_name)  # lineage: rerun_of
    folder, stamp = new_record_folder(records_dir)
    place_record(nb, parameters, folder, None, None)
    path = publish_exclusive(nb, folder, f"submit_batch_{stamp}")
    save_selection(folder, plan)
    return path


def save_selection(record_folder: Path, plan: RerunPlan) -> Path:
    """``selection.json`` in the record folder: the batch, the jobs, how they were picked."""
    return write_text_atomic(Path(record_folder) / SELECTION_FILE, json.dumps({
        "previews_batch_id": plan.previews_batch_id, "job_ids": list(plan.job_ids),
        "overrides": plan.overrides, "batch_name": plan.batch_name,
        "generator": plan.generator, "server": plan.server, "filters": plan.filters,
        "sort": plan.sort,
        "saved": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
    }, indent=2))


def read_selection(record: str | Path) -> dict[str, Any]:
    """The selection saved with a rerun record (its folder, or a notebook in it)."""
    record = Path(record)
    folder = record if record.is_dir() else record.parent
    path = folder / SELECTION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{folder} holds no {SELECTION_FILE}: it is not a record the "
                        f"gallery wrote") from None
    except ValueError as exc:
        raise DataError(f"{path} is damaged ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} is not a saved selection")
    data["job_ids"] = [parse_uuid(j, "job id") for j in data.get("job_ids", [])]
    return data


def submit_rerun(plan: RerunPlan, previews_batch: Batch,
                 records_dir: str | Path | None = None) -> tuple[Batch, Path]:
    """Write the plan's Submit record, then submit it now: the videos batch and its
    Download notebook (written beside the record, its parent the Submit record)."""
    from ..seed_reruns import expand_overrides_across_each_preview_state
    from .submit import submit_headless

    record = write_rerun_record(plan, records_dir)
    jobs = expand_overrides_across_each_preview_state(plan.overrides, previews_batch,
                                                      job_ids=plan.job_ids)
    session: Session = previews_batch.session
    batch = submit_headless(session, jobs, False, plan.batch_name, record.parent)
    return batch, record
