"""Distributions: how one parameter is drawn, fitted to what its schema allows.

A :class:`Distribution` is a plain description (``Uniform(2.5, 5.0)``). ``bind`` fits it to
one :class:`~infinity_workflows.schema.Param` and returns a :class:`Bound`: a scalar draw on
:class:`random.Random` and a vectorised one on :class:`numpy.random.Generator`, which agree
on the support, not on the exact numbers. A generator's table binds with ``strict=False``
(clipped to a narrower server's schema); a caller's own distribution binds strictly.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import ValidationError
from ..schema import Param

__all__ = [
    "Bound",
    "Choice",
    "ClippedNormal",
    "Coin",
    "Constant",
    "Distribution",
    "LogUniform",
    "TableError",
    "Tied",
    "Uniform",
    "intersect",
]


class Bound(NamedTuple):
    """A distribution bound to one parameter: a scalar draw and a vectorised one."""

    one: Callable[[random.Random], Any]
    many: Callable[[np.random.Generator, int], list[Any]]


class TableError(ValidationError):
    """A distribution cannot be bound to a parameter (wrong type, nothing allowed left)."""


class Distribution(ABC):
    """How to draw one parameter. ``bind`` fits it to the parameter's schema.

    ``strict`` is True for distributions a caller passes: then anything outside the schema
    is an error. Table entries bind with ``strict=False`` and are clipped instead.
    """

    @abstractmethod
    def bind(self, param: Param, strict: bool) -> Bound:
        """The draws for ``param``; raises :class:`TableError` when it cannot fit."""


def _numeric(param: Param, what: str) -> None:
    if param.type not in ("int", "float"):
        raise TableError(f"{param.name}: {what} draws numbers, but {param.name} is a "
                         f"{param.type} ({param.allowed()})")


def _clip_range(param: Param, lo: float, hi: float, strict: bool, what: str
                ) -> tuple[float, float]:
    """``[lo, hi]`` limited to the schema's range; refuses an empty result (or, if strict,
    any part outside)."""
    smin = -math.inf if param.min is None else param.min
    smax = math.inf if param.max is None else param.max
    if strict and (lo < smin or hi > smax):
        raise TableError(f"{param.name}: {what} reaches outside the allowed range; expected "
                         f"{param.allowed()}")
    lo, hi = max(lo, smin), min(hi, smax)
    if param.type == "int":
        lo, hi = math.ceil(lo), math.floor(hi)
    if lo > hi:
        raise TableError(f"{param.name}: {what} lies outside the allowed range; expected "
                         f"{param.allowed()}")
    return lo, hi


def _as_int_list(values: np.ndarray) -> list[int]:
    return np.rint(values).astype(np.int64).tolist()


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform over ``[lo, hi]``: real numbers for a float parameter, whole ones for an int."""

    lo: float
    hi: float

    def bind(self, param: Param, strict: bool) -> Bound:
        _numeric(param, repr(self))
        lo, hi = _clip_range(param, self.lo, self.hi, strict, repr(self))
        if param.type == "int":
            span = hi - lo + 1
            return Bound(lambda r: lo + int(r.random() * span),
                         lambda g, n: g.integers(lo, hi + 1, n).tolist())
        width = hi - lo
        return Bound(lambda r: min(hi, lo + width * r.random()),
                     lambda g, n: np.minimum(g.uniform(lo, hi, n), hi).tolist())


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Uniform in log space over ``[lo, hi]`` (``lo > 0``): for scales such as light power,
    where 10 to 100 matters as much as 100 to 1000."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not 0 < self.lo <= self.hi:
            raise ValidationError(f"LogUniform needs 0 < lo <= hi, got lo={self.lo}, "
                                 f"hi={self.hi}")

    def bind(self, param: Param, strict: bool) -> Bound:
        _numeric(param, repr(self))
        lo, hi = _clip_range(param, self.lo, self.hi, strict, repr(self))
        if lo <= 0:
            raise TableError(f"{param.name}: {self!r} needs a positive lower bound")
        llo, lspan = math.log(lo), math.log(hi) - math.log(lo)
        exp = math.exp

        def logs(g: np.random.Generator, n: int) -> np.ndarray:
            return np.exp(g.uniform(llo, llo + lspan, n))

        if param.type == "int":
            return Bound(lambda r: min(hi, max(lo, round(exp(llo + lspan * r.random())))),
                         lambda g, n: np.clip(_as_int_list(logs(g, n)), lo, hi).tolist())
        return Bound(lambda r: min(hi, max(lo, exp(llo + lspan * r.random()))),
                     lambda g, n: np.clip(logs(g, n), lo, hi).tolist())


@dataclass(frozen=True)
class ClippedNormal(Distribution):
    """Normal with ``mean`` and ``sd``, clipped to ``[lo, hi]`` and to the schema's range
    (rounded for an int parameter)."""

    mean: float
    sd: float
    lo: float | None = None
    hi: float | None = None

    def __post_init__(self) -> None:
        if not self.sd >= 0:
            raise ValidationError(f"ClippedNormal needs sd >= 0, got {self.sd}")

    def bind(self, param: Param, strict: bool) -> Bound:
        _numeric(param, repr(self))
        # A missing bound is the schema's: only explicit bounds can reach outside it (the
        # tails are clipped either way).
        lo = self.lo if self.lo is not None else -math.inf if param.min is None else param.min
        hi = self.hi if self.hi is not None else math.inf if param.max is None else param.max
        lo, hi = _clip_range(param, lo, hi, strict, repr(self))
        mean, sd = self.mean, self.sd
        if param.type == "int":
            return Bound(lambda r: min(hi, max(lo, round(r.gauss(mean, sd)))),
                         lambda g, n: np.clip(np.rint(g.normal(mean, sd, n)), lo, hi)
                         .astype(np.int64).tolist())
        return Bound(lambda r: min(hi, max(lo, r.gauss(mean, sd))),
                     lambda g, n: np.clip(g.normal(mean, sd, n), lo, hi).tolist())


@dataclass(frozen=True, init=False)
class Choice(Distribution):
    """One of ``values``, with optional ``weights``. A category value (``"BURPEE"``, when
    the generator declares it) stands for its variants, which share its weight equally."""

    values: tuple[Any, ...]
    weights: tuple[float, ...] | None = None

    def __init__(self, values: Iterable[Any], weights: Iterable[float] | None = None) -> None:
        values = tuple(values)
        weights = None if weights is None else tuple(float(w) for w in weights)
        if not values:
            raise ValidationError("Choice needs at least one value")
        if weights is not None and (len(weights) != len(values) or min(weights) < 0
                                    or sum(weights) <= 0):
            raise ValidationError(f"Choice weights must be {len(values)} non-negative numbers "
                                 f"with a positive sum, got {weights}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "weights", weights)

    @property
    def weighted(self) -> list[tuple[Any, float]]:
        return list(zip(self.values, self.weights or (1.0,) * len(self.values), strict=True))

    def bind(self, param: Param, strict: bool) -> Bound:
        kept: list[Any] = []
        kept_w: list[float] = []
        refused: list[str] = []
        for value, w in self.weighted:
            problem = param.check(value)
            if problem is None:
                kept.append(param.normalise(value))
                kept_w.append(w)
            else:
                refused.append(problem.message)
        if strict and refused:
            raise TableError("; ".join(refused))
        if not kept or sum(kept_w) <= 0:
            raise TableError(f"{param.name}: none of {list(self.values)} is allowed; expected "
                             f"{param.allowed()}")
        return _bind_choice(tuple(kept), tuple(kept_w))


def _bind_choice(values: tuple[Any, ...], weights: tuple[float, ...]) -> Bound:
    k = len(values)
    if k == 1:
        v = values[0]
        return Bound(lambda r: v, lambda g, n: [v] * n)
    pick = values.__getitem__
    if len(set(weights)) == 1:
        return Bound(lambda r: values[int(r.random() * k)],
                     lambda g, n: list(map(pick, g.integers(0, k, n).tolist())))
    cum = list(itertools.accumulate(weights))
    total = cum[-1]
    cum[-1] = math.inf  # r.random() * total may round up to total
    p = np.asarray(weights) / total
    return Bound(lambda r: values[bisect.bisect_right(cum, r.random() * total)],
                 lambda g, n: list(map(pick, g.choice(k, n, p=p).tolist())))


@dataclass(frozen=True)
class Coin(Distribution):
    """True with probability ``p``."""

    p: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValidationError(f"Coin needs 0 <= p <= 1, got {self.p}")

    def bind(self, param: Param, strict: bool) -> Bound:
        if param.type != "bool":
            raise TableError(f"{param.name}: {self!r} draws True/False, but {param.name} is a "
                             f"{param.type} ({param.allowed()})")
        p = self.p
        return Bound(lambda r: r.random() < p, lambda g, n: (g.random(n) < p).tolist())


@dataclass(frozen=True)
class Constant(Distribution):
    """Always ``value``."""

    value: Any

    def bind(self, param: Param, strict: bool) -> Bound:
        problem = param.check(self.value)
        if problem is not None:
            raise TableError(problem.message)
        v = param.normalise(self.value)
        return Bound(lambda r: v, lambda g, n: [v] * n)


@dataclass(frozen=True)
class Tied:
    """A joint entry: one draw of ``dist`` gives the same value to every parameter of the
    entry (e.g. square images: ``image_width == image_height``).

    The draw is bound to what all those parameters allow together. When a caller gives one
    of them, the others follow the given value (or the given distribution)."""

    dist: Distribution


def intersect(params: Sequence[Param]) -> Param:
    """One parameter allowing only what every one of ``params`` allows."""
    first = params[0]
    if any(p.type != first.type for p in params):
        raise TableError("tied parameters must share a type: "
                         + ", ".join(f"{p.name} is {p.type}" for p in params))
    mins = [p.min for p in params if p.min is not None]
    maxs = [p.max for p in params if p.max is not None]
    choices = None
    if any(p.choices is not None for p in params):
        sets = [set(p.choices) for p in params if p.choices is not None]
        choices = tuple(c for c in next(p.choices for p in params if p.choices is not None)
                        if all(c in s for s in sets))
    return Param("/".join(p.name for p in params), first.type, None,
                 min=max(mins) if mins else None, max=min(maxs) if maxs else None,
                 choices=choices)
