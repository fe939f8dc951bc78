"""Designing a video batch to targets, with previews as measurements.

The method (why, in the README's "Batches designed to a target"):

1. draw a large **pool** of candidate jobs with the sampling engine (``sample_inputs``, the
   generator's own distributions and the caller's fixed values);
2. **explore**: preview a random part of the preview budget and measure each preview's
   statistics through the generator's hooks (:mod:`.measure`);
3. **learn** how parameters move each targeted statistic (:class:`~.choose.NeighbourModel`)
   and predict it for the whole pool;
4. **exploit**, in rounds that each learn again from every preview so far: choose from the
   pool, on predictions, the set that best matches the targets (:func:`~.choose.choose`),
   add neighbours of the best previews so far (their seeds, the parameters moved a little:
   local search), and preview them, until the budget is spent;
5. **select** the videos among all measured previews (greedy on measurements, not
   predictions), and rerun each from its preview's seed (``state`` = the preview's job id),
   so a video starts from exactly the frame its preview showed.

Before any video is rendered, :meth:`Design.expected` says what the chosen previews
measure against each target; :meth:`Design.achieved` measures the videos once downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, DownloadError, ValidationError
from ..generators import Generator, installed_generator
from .choose import NeighbourModel, choose, features
from .measure import FRAME, PARAM, Measured, measure_folder
from .targets import AtLeast, AtMost, Bound, Target, as_targets

__all__ = ["Design", "Outcome", "design_batch"]

MIN_EVENTS = 3  # events seen before a bound's event is learnt as a probability
LOCAL_STEP = 0.03  # local search moves a numeric parameter by this share of its range (sd)


@dataclass
class Outcome:
    """One target against a batch: the values, their weights, distance and whether met."""

    name: str
    kind: str
    target: Target
    values: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)

    @property
    def distance(self) -> float:
        return self.target.distance(self.values, self.weights)

    @property
    def mean(self) -> float:
        """The weighted mean (a bound's: of its event, e.g. the share of frames >= x)."""
        if isinstance(self.target, Bound):
            return self.target.mean(self.values, self.weights)
        v, w = self.values, self.weights
        keep = np.isfinite(v) & (w > 0)
        return float(np.average(v[keep], weights=w[keep])) if keep.any() else math.nan

    @property
    def met(self) -> bool | None:
        return self.target.met(self.values, self.weights)


@dataclass
class Design:
    """A designed batch: the video jobs to submit and what their previews measured."""

    generator: str
    targets: dict[str, Target]
    kinds: dict[str, str]
    measured: Measured                 # every preview rendered for the design
    explored: int                      # the first ``explored`` of them were random
    chosen: list[int]                  # indices into ``measured`` of the videos' previews
    video_frames: np.ndarray           # frames of each measured job as a video
    job_params: list[dict[str, Any]]   # the videos: the chosen previews, rerun as videos
    preview_batches: list[str]
    model_r2: dict[str, float]         # leave-one-out R^2 of each learnt statistic
    folder: Path

    @property
    def preview_ids(self) -> list[str]:
        """The previews the videos rerun (the lineage of the video batch)."""
        return [self.measured.job_ids[i] for i in self.chosen]

    def _outcome(self, name: str, measured: Measured, jobs: list[int], frames: np.ndarray,
                 as_videos: bool) -> Outcome:
        kind = self.kinds[name]
        if kind == FRAME and as_videos:
            values = measured.pooled(name, jobs)       # every instance of every frame
            weights = np.ones(len(values))
        else:
            values = measured.per_job(name)[jobs]
            weights = frames[jobs] if kind == FRAME else np.ones(len(jobs))
        return Outcome(name, kind, self.targets[name], values, weights)

    def expected(self) -> dict[str, Outcome]:
        """Per target, what the chosen previews measure, each weighted by its video's frames
        for a per-frame statistic: the expected statistics of the video batch."""
        return {n: self._outcome(n, self.measured, self.chosen, self.video_frames, False)
                for n in self.targets}

    def plain(self) -> dict[str, Outcome]:
        """The same for the random previews of the exploration round: what plain sampling
        would give (the reference the design is judged against)."""
        jobs = list(range(self.explored))
        return {n: self._outcome(n, self.measured, jobs, self.video_frames, False)
                for n in self.targets}

    def achieved(self, folder: str | Path, job_ids: list[str] | None = None
                 ) -> dict[str, Outcome]:
        """Per target, what downloaded videos measure (``folder``: where the video batch was
        downloaded; ``job_ids``: only those jobs)."""
        generator = _generator(self.generator)
        videos = measure_folder(folder, generator, job_ids)
        jobs = list(range(len(videos)))
        ones = np.ones(len(videos))
        return {n: self._outcome(n, videos, jobs, ones, True) for n in self.targets}

    def table(self, achieved: Mapping[str, Outcome] | None = None) -> Any:
        """A pandas DataFrame: per target, plain sampling's, the expected and (if given) the
        achieved distance (Wasserstein-1, or a bound's shortfall) and mean."""
        import pandas as pd

        rows = []
        for name, target in self.targets.items():
            row: dict[str, Any] = {"statistic": name, "kind": self.kinds[name],
                                   "target": target.describe()}
            for label, outs in (("plain", self.plain()), ("expected", self.expected()),
                                ("achieved", achieved)):
                if outs is not None:
                    row[f"{label} distance"] = outs[name].distance
                    row[f"{label} mean"] = outs[name].mean
            if name in self.model_r2:
                row["model R2"] = self.model_r2[name]
            rows.append(row)
        return pd.DataFrame.from_records(rows)

    def figure(self, achieved: Mapping[str, Outcome] | None = None,
               baseline: Mapping[str, Outcome] | None = None) -> Any:
        """Expected (and achieved, and a baseline's) statistics against each target."""
        from .figure import design_figure

        return design_figure(self, achieved, baseline)


def _learn(measured: Measured, wanted: Mapping[str, Target], learnt: list[str], schema: Any,
           say: Callable[[str], None]) -> tuple[dict[str, NeighbourModel],
                                                dict[str, Target | None]]:
    """A model per learnt statistic, and the targets to choose proposals by. A bound on an
    event (above=/below=) is learnt as the event's probability; while the previews show it
    fewer than MIN_EVENTS times, as the value itself, and its proposal target is None (the
    caller pushes the value as far towards the event as the pool goes)."""
    x = features(measured.params, schema)
    models: dict[str, NeighbourModel] = {}
    targets: dict[str, Target | None] = dict(wanted)
    for n in learnt:
        t = wanted[n]
        y = measured.per_job(n)
        if isinstance(t, Bound) and (t.above is not None or t.below is not None):
            events = np.nansum(t.indicator(y))
            if events < MIN_EVENTS:
                say(f"design: {n}: the event was seen {int(events)} times in "
                    f"{len(measured)} previews; proposing towards it")
                targets[n] = None
            else:
                y = t.indicator(y)
                targets[n] = replace(t, above=None, below=None)
        elif isinstance(t, Bound):
            targets[n] = t
        models[n] = NeighbourModel(x, y)
    return models, targets


def _generator(name: str) -> Generator:
    generator = installed_generator(name)
    if generator is None:
        raise ConfigurationError(
            f"generator {name!r} is not installed beside this client: designing a batch "
            f"reads its label statistics with the generator's own code; install its package")
    return generator


def _frames(generator: Generator, params: list[dict[str, Any]]) -> np.ndarray:
    return np.array([float(generator.estimate(p, False)) for p in params])


def _neighbours(measured: Measured, targets: Mapping[str, Target], n: int, schema: Any,
                keep: set[str], margin: float, rng: np.random.Generator
                ) -> list[dict[str, Any]]:
    """Local search: ``n`` jobs near the best measured previews (the set the choice would
    take now), each from its seed's ``state`` (same room, furniture and timing) with every
    numeric parameter not fixed by the caller moved by a few per cent of its range. What
    the parameters cannot explain (a piece of furniture in front of the person comes from
    the seed) is found again this way."""
    frames = np.ones(len(measured))
    values = {name: measured.per_job(name) for name in targets}
    weights = {name: frames for name in targets}
    seeds = choose(values, weights, targets, max(1, n // 2), margin)
    if not seeds:
        return []
    jobs = []
    for k in range(n):
        i = seeds[k % len(seeds)]
        job = {**measured.params[i], "state": measured.job_ids[i]}
        for p in schema:
            if p.name in keep or p.type not in ("int", "float") or p.min is None \
                    or p.max is None or not isinstance(job.get(p.name), (int, float)):
                continue
            moved = float(job[p.name]) + rng.normal(0, LOCAL_STEP * (p.max - p.min))
            moved = min(p.max, max(p.min, moved))
            job[p.name] = round(moved) if p.type == "int" else moved
        jobs.append(job)
    return jobs


def _preview(sesh: Any, jobs: list[dict[str, Any]], folder: Path, name: str,
             timeout: float | None, say: Callable[[str], None]
             ) -> tuple[str, list[str], Path]:
    """Render ``jobs`` as previews on the server and download them into
    ``folder/<name>_<batch id>`` (a design run again never meets an earlier one's folders);
    (batch id, ids of the jobs downloaded in the batch's order, their folder)."""
    label = f"design: {name}"
    batch = sesh.submit(jobs, is_preview=True, batch_name=label)
    say(f"{label}: {len(jobs)} previews in batch {batch.batch_id}")
    where = folder / f"{name}_{batch.batch_id}"
    try:
        batch.download(where, wait=True, timeout=timeout, polling_interval=0.5,
                       progress=False)
    except DownloadError as exc:  # measure the others; say which failed
        say(f"{label}: {len(exc.failed)} previews failed and are left out")
    have = {p.name for p in where.iterdir() if p.is_dir()} if where.is_dir() else set()
    return batch.batch_id, [j for j in batch.job_ids if j in have], where


def design_batch(sesh: Any, targets: Mapping[str, Any], n_videos: int, preview_budget: int,
                 folder: str | Path, *, fixed: Mapping[str, Any] | None = None,
                 seed: int | None = None, explore: float = 0.5, pool_size: int = 4000,
                 margin: float = 0.3, local: float = 0.3, rounds: int = 3,
                 timeout: float | None = 1800,
                 say: Callable[[str], None] | None = print) -> Design:
    """Choose ``n_videos`` video jobs whose label statistics meet ``targets``, spending at
    most ``preview_budget`` previews on the server to measure candidates.

    ``targets``: statistic or parameter name -> target (``Uniform(lo, hi)``,
    ``Histogram``, ``Empirical``, ``AtLeast``, ``AtMost``; see :mod:`.targets` and
    :func:`~.coco.match_coco`). ``fixed``: values every candidate keeps, as for
    ``sample_input`` (a value or a distribution). Previews are downloaded into
    ``folder/explore_<batch id>`` and ``folder/exploit-<round>_<batch id>``.
    ``explore``: the share of the budget previewed at random before the model proposes the
    rest. ``margin``: how far past a bound the choice aims (a share of the bound), for the
    gap between a preview's one frame and its video. ``local``: the share of the exploit
    round spent near the best previews so far, from their seeds (local search). ``rounds``:
    how many times the rest of the budget is learnt from and proposed. Returns a
    :class:`Design`; submit its ``job_params`` as videos.
    """
    from ..sampling import sample_inputs

    wanted = as_targets(targets)
    if n_videos < 1 or preview_budget < 2:
        raise ValidationError(f"need n_videos >= 1 and preview_budget >= 2, got {n_videos} "
                              f"and {preview_budget}")
    if not 0 < explore <= 1 or not 0 <= local <= 1 or rounds < 1:
        raise ValidationError(f"explore must be in (0, 1], local in [0, 1] and rounds >= 1, "
                              f"got {explore}, {local} and {rounds}")
    say = say or (lambda _msg: None)
    generator = _generator(sesh.generator)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pool = sample_inputs(sesh, max(pool_size, preview_budget), rng, **dict(fixed or {}))
    n1 = min(preview_budget, max(2, round(explore * preview_budget)))

    # 2. Explore: random previews.
    batch1, ids1, where = _preview(sesh, pool[:n1], folder, "explore", timeout, say)
    measured = measure_folder(where, generator, ids1)
    kinds = {name: measured.kind(name) for name in wanted}
    batches = [batch1]

    # 3-4. Learn, predict for the rest of the pool, preview the set that matches best; in
    # `rounds` rounds, each learning from every preview so far.
    learnt = [n for n, k in kinds.items() if k != PARAM]
    schema = sesh.schema
    r2: dict[str, float] = {}
    left = preview_budget - n1
    rest = pool[n1:]
    for round_no in range(1, rounds + 1):
        n2 = -(-left // (rounds - round_no + 1))
        if n2 <= 0:
            break
        models, on_predictions = _learn(measured, wanted, learnt, schema, say)
        if round_no == 1:  # on the random previews alone: an unbiased leave-one-out
            r2 = {n: m.r2() for n, m in models.items()}
            say("design: learnt " + ", ".join(f"{n} (R2 {v:.2f})" for n, v in r2.items())
                if r2 else "design: every target is a parameter")
        x = features(rest, schema)
        values = {n: models[n].predict(x) if n in models else
                  np.array([float(p[n]) for p in rest]) for n in wanted}
        for n, t in on_predictions.items():  # "towards": as far as the pool goes
            if t is None:
                pred = values[n][np.isfinite(values[n])]
                bound = wanted[n]
                on_predictions[n] = AtLeast(float(pred.max()) if len(pred) else 0.0) \
                    if isinstance(bound, Bound) and bound.above is not None \
                    else AtMost(float(pred.min()) if len(pred) else 0.0)
        weights = {n: np.ones(len(rest)) for n in wanted}
        n_local = round(local * n2) if "state" in schema else 0
        # Proposals aim bounds further (twice the bound at least), so the final choice has
        # spare candidates with the event to pick from.
        proposal = choose(values, weights, on_predictions, n2 - n_local, max(margin, 1.0))
        jobs2 = [rest[i] for i in proposal]
        taken = set(proposal)
        rest = [job for i, job in enumerate(rest) if i not in taken]
        if n_local:
            jobs2 += _neighbours(measured, wanted, n_local, schema, set(fixed or ()), margin,
                                 rng)
        batch2, ids2, where = _preview(sesh, jobs2, folder, f"exploit-{round_no}", timeout,
                                       say)
        measured = Measured.concat([measured, measure_folder(where, generator, ids2)])
        batches.append(batch2)
        left -= len(jobs2)

    # 5. Select the videos among the measured previews.
    frames = _frames(generator, measured.params)
    values = {n: measured.per_job(n) for n in wanted}
    # Each video counts once in the choice, whatever its length: weighted by frames, the
    # greedy choice preferred short videos (small steps fit a distribution finely), and
    # the designed batch had 40 % of plain sampling's frames. The expected statistics are
    # still weighted by frames, as the videos' frames will be pooled.
    weights = {n: np.ones(len(measured)) for n in wanted}
    chosen = choose(values, weights, wanted, n_videos, margin)
    if len(chosen) < n_videos:
        say(f"design: only {len(chosen)} previews measured every targeted statistic; "
            f"{len(chosen)} videos chosen")
    has_state = "state" in schema
    job_params = [{**measured.params[i], "state": measured.job_ids[i]} if has_state
                  else dict(measured.params[i]) for i in chosen]
    design = Design(sesh.generator, wanted, kinds, measured, len(ids1), chosen, frames,
                    job_params, batches, r2, folder)
    for name, out in design.expected().items():
        t = wanted[name]
        what = f"mean {out.mean:.3g}" if isinstance(t, Bound) else \
            f"distance {out.distance:.3g} (plain {design.plain()[name].distance:.3g})"
        say(f"design: {name} {t.describe()}: expected {what}")
    return design
