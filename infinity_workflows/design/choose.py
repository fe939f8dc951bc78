"""How parameters move a statistic (a nearest-neighbour model), and choosing a set of jobs
whose statistics best match the targets (greedy, then swaps).

The model is k-nearest-neighbour regression over the job's parameters, each parameter
scaled to [0, 1] by its schema and weighted by how strongly it is correlated with the
statistic in the measured previews (squared correlation, of the value and of its distance
from the middle of its range, so a symmetric effect such as "facing sideways" counts). It
needs no training beyond the correlations, copes with categorical parameters, and with a
few dozen measurements it already finds the two or three parameters that matter among
thirty: what the design needs to propose the next previews, not an exact prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..schema import Schema
from .targets import Bound, DistributionTarget, Target

__all__ = ["NeighbourModel", "choose", "features"]

BOUND_WEIGHT = 5.0  # a bound's shortfall (relative to the bound) counts this much more


def features(params: Sequence[Mapping[str, Any]], schema: Schema) -> np.ndarray:
    """Jobs as rows of numbers in [0, 1]: numeric parameters scaled by their range (and
    their squared distance from the middle), booleans 0/1, choices one-hot."""
    cols: list[np.ndarray] = []
    for p in schema:
        values = [job.get(p.name, p.default) for job in params]
        if p.type in ("int", "float"):
            x = np.array([float(v) if isinstance(v, (int, float)) else math.nan
                          for v in values])
            lo = p.min if p.min is not None else np.nanmin(x) if len(x) else 0.0
            hi = p.max if p.max is not None else np.nanmax(x) if len(x) else 1.0
            x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
            x = np.nan_to_num(x, nan=0.5)
            cols += [x, (2 * x - 1) ** 2]
        elif p.type == "bool":
            cols.append(np.array([float(bool(v)) for v in values]))
        elif p.choices is not None and p.type == "str":
            for choice in p.choices:
                cols.append(np.array([float(v == choice) for v in values]))
    return np.column_stack(cols) if cols else np.zeros((len(params), 0))


class NeighbourModel:
    """Predicts one statistic from job parameters by k nearest measured jobs."""

    def __init__(self, x: np.ndarray, y: np.ndarray, k: int = 5) -> None:
        keep = np.isfinite(y)
        self.x, self.y = x[keep], y[keep]
        self.k = max(1, min(k, len(self.y)))
        self.scale = self._relevance(self.x, self.y)

    @staticmethod
    def _relevance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if len(y) < 3 or np.std(y) == 0:
            return np.ones(x.shape[1])
        xc, yc = x - x.mean(axis=0), y - y.mean()
        denom = np.sqrt((xc ** 2).sum(axis=0) * (yc ** 2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 0, (xc * yc[:, None]).sum(axis=0) / denom, 0.0)
        return r ** 2

    def predict(self, x: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        """The statistic at each row of ``x`` (``exclude_self``: x is the training set,
        each row predicted from the others: leave-one-out)."""
        if not len(self.y):
            return np.full(len(x), np.nan)
        out = np.empty(len(x))
        a = self.x * self.scale
        for start in range(0, len(x), 2048):
            b = x[start:start + 2048] * self.scale
            d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)
            if exclude_self:
                d[np.arange(len(b)), np.arange(start, start + len(b))] = np.inf
            k = min(self.k, d.shape[1] - (1 if exclude_self else 0))
            near = np.argpartition(d, k - 1, axis=1)[:, :k]
            dist = np.sqrt(np.take_along_axis(d, near, axis=1))
            w = 1.0 / (dist + 1e-3)
            out[start:start + len(b)] = (w * self.y[near]).sum(axis=1) / w.sum(axis=1)
        return out

    def r2(self) -> float:
        """Leave-one-out R^2 on the measured jobs: how much of the statistic's spread the
        parameters explain (0: none, 1: all)."""
        if len(self.y) < 4 or np.var(self.y) == 0:
            return math.nan
        pred = self.predict(self.x, exclude_self=True)
        return float(1 - np.mean((pred - self.y) ** 2) / np.var(self.y))


class _Term:
    """One target's part of the loss, evaluated for every candidate added to a set."""

    def __init__(self, target: Target, values: np.ndarray, weights: np.ndarray,
                 margin: float) -> None:
        self.target, self.v, self.w = target, values, weights
        if isinstance(target, DistributionTarget):
            grid = target.grid(values)
            self.dx = np.diff(grid)
            self.mid = (grid[:-1] + grid[1:]) / 2
            self.t = target.cdf(self.mid)
            # steps[i, g]: candidate i's weight counts in the CDF at midpoint g.
            self.steps = (values[:, None] <= self.mid[None, :]).astype(np.float32) \
                * weights[:, None].astype(np.float32)
            self.norm = target.span
        else:
            assert isinstance(target, Bound)
            b = target.bound
            # +1 for AtLeast (the mean must rise to the aim), -1 for AtMost.
            self.sign = 1.0 if target.shortfall(b - 1) > 0 else -1.0
            self.aim = b + self.sign * margin * max(abs(b), 1e-9)
            self.norm = max(abs(b), 1e-9) / BOUND_WEIGHT

    def state(self, chosen: Sequence[int]) -> tuple[np.ndarray | float, float]:
        idx = list(chosen)
        if isinstance(self.target, DistributionTarget):
            return self.steps[idx].sum(axis=0), float(self.w[idx].sum())
        return float((self.w[idx] * self.v[idx]).sum()), float(self.w[idx].sum())

    def with_each(self, state: tuple[Any, float], cand: np.ndarray) -> np.ndarray:
        """The term's value for the set plus each candidate."""
        acc, total = state
        w = self.w[cand]
        tot = total + w
        if isinstance(self.target, DistributionTarget):
            cdf = (acc[None, :] + self.steps[cand]) / np.maximum(tot, 1e-12)[:, None]
            return (np.abs(cdf - self.t[None, :]) * self.dx[None, :]).sum(axis=1) / self.norm
        mean = (acc + w * self.v[cand]) / np.maximum(tot, 1e-12)
        return np.maximum(0.0, self.sign * (self.aim - mean)) / self.norm


def choose(values: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray],
           targets: Mapping[str, Target], n: int, margin: float = 0.1,
           swaps: int = 2) -> list[int]:
    """``n`` candidates (indices) whose pooled statistics come closest to ``targets``.

    ``values[name][i]`` is candidate i's value of the statistic (measured or predicted),
    ``weights[name][i]`` how much it counts (its frames, for a per-frame statistic). The
    loss adds each distribution target's Wasserstein distance over its span and each
    bound's shortfall (aiming ``margin`` of the bound past it, against the gap between a
    preview and its video) over the bound, times :data:`BOUND_WEIGHT`. Greedy: add the
    candidate that lowers the loss most, until ``n``; then up to ``swaps`` passes replacing
    each chosen one by the best unchosen one when that lowers the loss. Candidates with a
    missing value of any targeted statistic are never chosen.
    """
    count = len(next(iter(values.values())))
    usable = np.ones(count, bool)
    for name in targets:
        usable &= np.isfinite(values[name]) & np.isfinite(weights[name])
    pool = np.flatnonzero(usable)
    n = min(n, len(pool))
    terms = [_Term(t, np.nan_to_num(_as_measured(t, values[name])),
                   np.nan_to_num(weights[name]), margin) for name, t in targets.items()]
    chosen: list[int] = []
    free = np.ones(count, bool)
    free[~usable] = False
    for _ in range(n):
        cand = np.flatnonzero(free)
        loss = _loss_with_each(terms, chosen, cand)
        best = int(cand[int(np.argmin(loss))])
        chosen.append(best)
        free[best] = False
    for _ in range(swaps if count <= 5000 else 0):
        improved = False
        for pos in range(len(chosen)):
            rest = chosen[:pos] + chosen[pos + 1:]
            cand = np.concatenate([[chosen[pos]], np.flatnonzero(free)])
            loss = _loss_with_each(terms, rest, cand)
            best = int(cand[int(np.argmin(loss))])
            if best != chosen[pos] and loss.min() < loss[0] - 1e-12:
                free[chosen[pos]] = True
                free[best] = False
                chosen[pos] = best
                improved = True
        if not improved:
            break
    return chosen


def _as_measured(target: Target, values: np.ndarray) -> np.ndarray:
    """What a target averages: a bound's event indicator, else the values."""
    return target.indicator(values) if isinstance(target, Bound) else values


def _loss_with_each(terms: Sequence[_Term], chosen: Sequence[int], cand: np.ndarray
                    ) -> np.ndarray:
    total = np.zeros(len(cand))
    for term in terms:
        total += term.with_each(term.state(chosen), cand)
    return total
