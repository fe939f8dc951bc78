"""Targets on label statistics, and how far a batch is from them.

A target is either a **distribution** the batch's values should follow (:class:`Uniform`,
:class:`Histogram`, :class:`Empirical`; the sampling engine's ``Uniform(lo, hi)`` is accepted
too) or a **bound** on their weighted mean (:class:`AtLeast`, :class:`AtMost`: for a 0/1
statistic such as ``wrist_hidden``, the share of frames where it holds).

Distances are the 1-D Wasserstein-1 distance (the area between the two cumulative
distribution functions, in the statistic's own units): it needs no binning of the batch,
stays meaningful when the two supports do not overlap (total variation is then always 1),
and a batch half a unit off reads as half a unit. For choosing, it is divided by the
target's span so that targets in different units add up. A bound's distance is how far the
mean falls short (0 when met).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ValidationError

__all__ = [
    "AtLeast",
    "AtMost",
    "Bound",
    "DistributionTarget",
    "Empirical",
    "Histogram",
    "Target",
    "Uniform",
    "as_target",
    "as_targets",
    "wasserstein",
]

_GRID = 256  # points of the grid the greedy choice evaluates CDFs on


class Target(ABC):
    """What a batch's values of one statistic should look like."""

    @abstractmethod
    def distance(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        """How far the (weighted) values are from the target, in the statistic's units."""

    @abstractmethod
    def describe(self) -> str:
        """One line for figures and tables."""

    def met(self, values: np.ndarray, weights: np.ndarray | None = None) -> bool | None:
        """Whether a bound holds (None for a distribution, which is met only by degree)."""
        return None


class DistributionTarget(Target):
    """A target distribution, given by its CDF on a grid and a sampled quantile function."""

    @property
    @abstractmethod
    def support(self) -> tuple[float, float]:
        """The smallest interval holding all of the target's mass."""

    @abstractmethod
    def cdf(self, x: np.ndarray) -> np.ndarray:
        """The target's cumulative distribution function at ``x``."""

    @property
    def span(self) -> float:
        lo, hi = self.support
        return max(hi - lo, 1e-12)

    def distance(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        return wasserstein(values, weights, self)

    def grid(self, values: np.ndarray) -> np.ndarray:
        """Evaluation points covering both the target's support and ``values``."""
        lo, hi = self.support
        finite = values[np.isfinite(values)]
        if len(finite):
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        return np.linspace(lo, hi, _GRID)


def _weights(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, float).ravel()
    w = np.ones_like(values) if weights is None else np.asarray(weights, float).ravel()
    if w.shape != values.shape:
        raise ValidationError(f"{len(w)} weights for {len(values)} values")
    keep = np.isfinite(values) & (w > 0)
    return values[keep], w[keep]


def wasserstein(values: np.ndarray, weights: np.ndarray | None, target: DistributionTarget
                ) -> float:
    """W1 between the weighted empirical distribution of ``values`` and ``target``:
    the integral of |F_batch - F_target|, exact for the batch's step CDF between grid points
    refined at every value. NaN when no value is finite."""
    v, w = _weights(values, weights)
    if not len(v):
        return math.nan
    lo, hi = target.support
    # Breakpoints: a fine grid plus every value, so the batch's step CDF is exact on each
    # interval and the target's is taken at its midpoint.
    xs = np.unique(np.concatenate([np.linspace(min(lo, v.min()), max(hi, v.max()), 2049), v]))
    order = np.argsort(v)
    steps = np.concatenate([[0.0], np.cumsum(w[order]) / w.sum()])
    mids = (xs[:-1] + xs[1:]) / 2
    batch = steps[np.searchsorted(v[order], mids, side="right")]
    return float(np.sum(np.abs(batch - target.cdf(mids)) * np.diff(xs)))


@dataclass(frozen=True)
class Uniform(DistributionTarget):
    """Values spread evenly over ``[lo, hi]``."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not self.lo < self.hi:
            raise ValidationError(f"Uniform target needs lo < hi, got {self.lo}, {self.hi}")

    @property
    def support(self) -> tuple[float, float]:
        return float(self.lo), float(self.hi)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(x, float) - self.lo) / (self.hi - self.lo), 0.0, 1.0)

    def describe(self) -> str:
        return f"Uniform({self.lo:g}, {self.hi:g})"


@dataclass(frozen=True, init=False)
class Histogram(DistributionTarget):
    """A histogram: ``counts[i]`` (any scale) of values in ``[edges[i], edges[i+1])``, spread
    evenly inside each bin."""

    edges: tuple[float, ...]
    counts: tuple[float, ...]

    def __init__(self, edges: Sequence[float], counts: Sequence[float]) -> None:
        e = tuple(float(x) for x in edges)
        c = tuple(float(x) for x in counts)
        if len(e) != len(c) + 1 or len(c) < 1:
            raise ValidationError(f"Histogram needs len(edges) == len(counts) + 1, got "
                                  f"{len(e)} edges and {len(c)} counts")
        if any(b <= a for a, b in zip(e, e[1:], strict=False)) or min(c) < 0 or sum(c) <= 0:
            raise ValidationError("Histogram needs increasing edges and non-negative counts "
                                  "with a positive sum")
        object.__setattr__(self, "edges", e)
        object.__setattr__(self, "counts", c)

    @property
    def support(self) -> tuple[float, float]:
        return self.edges[0], self.edges[-1]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(self.counts)]) / sum(self.counts)
        return np.interp(np.asarray(x, float), self.edges, cum)

    def describe(self) -> str:
        return f"Histogram({len(self.counts)} bins, {self.edges[0]:g} to {self.edges[-1]:g})"


@dataclass(frozen=True, init=False)
class Empirical(DistributionTarget):
    """The distribution of given values (e.g. one statistic of a COCO file's boxes)."""

    values: np.ndarray = field(repr=False, compare=False)
    source: str = ""

    def __init__(self, values: Sequence[float] | np.ndarray, source: str = "") -> None:
        v = np.sort(np.asarray(values, float).ravel())
        v = v[np.isfinite(v)]
        if len(v) < 2:
            raise ValidationError(f"Empirical target needs at least two finite values, got "
                                  f"{len(v)}")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "source", source)

    @property
    def support(self) -> tuple[float, float]:
        return float(self.values[0]), float(self.values[-1])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.values, np.asarray(x, float), side="right") \
            / len(self.values)

    def describe(self) -> str:
        where = f" of {self.source}" if self.source else ""
        return f"Empirical({len(self.values)} values{where})"


@dataclass(frozen=True)
class Bound(Target):
    """A bound on the batch's weighted mean (of the values, or of an event's indicator)."""

    bound: float
    # An event instead of the value itself: the share of values >= above (or <= below).
    above: float | None = None
    below: float | None = None

    def __post_init__(self) -> None:
        if self.above is not None and self.below is not None:
            raise ValidationError("a bound takes above= or below=, not both")

    def indicator(self, values: np.ndarray) -> np.ndarray:
        """The values the mean is taken of: the values, or 0/1 for the event."""
        v = np.asarray(values, float)
        if self.above is not None:
            return np.where(np.isfinite(v), (v >= self.above).astype(float), np.nan)
        if self.below is not None:
            return np.where(np.isfinite(v), (v <= self.below).astype(float), np.nan)
        return v

    def mean(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        v, w = _weights(self.indicator(values), weights)
        return float(np.average(v, weights=w)) if len(v) else math.nan

    def shortfall(self, mean: float) -> float:
        raise NotImplementedError

    def distance(self, values: np.ndarray, weights: np.ndarray | None = None) -> float:
        return self.shortfall(self.mean(values, weights))

    def met(self, values: np.ndarray, weights: np.ndarray | None = None) -> bool | None:
        return self.distance(values, weights) <= 0

    def _event(self) -> str:
        if self.above is not None:
            return f"share with value >= {self.above:g}"
        if self.below is not None:
            return f"share with value <= {self.below:g}"
        return "mean"


class AtLeast(Bound):
    """The batch's (weighted) mean at least ``bound``: for a 0/1 statistic, the share of
    frames (or jobs) where it holds. ``above=x`` (or ``below=x``): the share of values
    >= x (<= x) at least ``bound``, e.g. ``AtLeast(0.3, above=10)`` on
    ``percent_occlusion``: at least 30 % of frames with the person 10 % hidden or more."""

    def shortfall(self, mean: float) -> float:
        return max(0.0, self.bound - mean) if math.isfinite(mean) else math.inf

    def describe(self) -> str:
        return f"{self._event()} >= {self.bound:g}"


class AtMost(Bound):
    """The batch's (weighted) mean at most ``bound``."""

    def shortfall(self, mean: float) -> float:
        return max(0.0, mean - self.bound) if math.isfinite(mean) else math.inf

    def describe(self) -> str:
        return f"{self._event()} <= {self.bound:g}"


def as_target(value: Any) -> Target:
    """A Target, or the sampling engine's ``Uniform`` (same name, same meaning) made one."""
    if isinstance(value, Target):
        return value
    from ..sampling.distributions import Uniform as SamplingUniform

    if isinstance(value, SamplingUniform):
        return Uniform(value.lo, value.hi)
    raise ValidationError(f"a target must be Uniform, Histogram, Empirical, AtLeast or "
                          f"AtMost, not {value!r}")


def as_targets(targets: Mapping[str, Any]) -> dict[str, Target]:
    if not targets:
        raise ValidationError("no targets given: name at least one statistic")
    return {str(name): as_target(t) for name, t in targets.items()}
