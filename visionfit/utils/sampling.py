"""Draw job parameters at random, within what the generator's schema allows.

Every parameter has a distribution from one table, :data:`DISTRIBUTIONS`, keyed by parameter
name. A parameter the table does not name gets a draw derived from its schema (uniform over
``min..max`` or over its choices, a fair coin for a bool, the default otherwise). The
schema is the law and the table a suggestion: each table entry is bound to the schema once
(and cached), which clips ranges and drops choices the schema does not allow, so the same
table serves a server whose schema is narrower.

Values given by the caller (``sample_input(sesh, camera_distance=3.0)``) are checked against
the schema with messages that name the parameter, the value and what is allowed. A given
value may also be a :class:`Distribution` (``camera_distance=Uniform(2, 3)``), and a string
that is not a choice but prefixes numbered choices (``exercise="BURPEE"`` for ``BURPEE_01``,
``BURPEE_02``, ...) stands for one of them, picked at random per job.

Reruns from seeds: :func:`expand_overrides_across_each_preview_state` and friends turn the
completed jobs of an earlier batch plus a list of overrides into new jobs whose ``state``
names the earlier job, so the server reuses its seed and only the overrides change.

Two code paths draw values: a scalar one on :class:`random.Random` for :func:`sample_input`
and a vectorised one on :class:`numpy.random.Generator` for :func:`sample_inputs`. Both come
from the same bound distribution, so they agree on the support, not on the exact numbers.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import math
import random
import re
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from infinity_workflows.errors import ValidationError
from infinity_workflows.schema import Param, Schema

__all__ = [
    "DISTRIBUTIONS",
    "ClippedNormal",
    "Choice",
    "Coin",
    "Constant",
    "Distribution",
    "LogUniform",
    "Tied",
    "Uniform",
    "category_variants",
    "distribution_table",
    "expand_overrides_across_each_preview_state",
    "expand_overrides_across_each_video_state",
    "sample_input",
    "sample_inputs",
    "submit_rerun_batch_with_overrides_previews",
    "submit_rerun_batch_with_overrides_videos",
]

RandomLike = random.Random | int | None


class Bound(NamedTuple):
    """A distribution bound to one parameter: a scalar draw and a vectorised one."""

    one: Callable[[random.Random], Any]
    many: Callable[[np.random.Generator, int], list[Any]]


class TableError(ValueError):
    """A distribution cannot be bound to a parameter (wrong type, nothing allowed left)."""


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


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
            raise ValueError(f"LogUniform needs 0 < lo <= hi, got lo={self.lo}, hi={self.hi}")

    def bind(self, param: Param, strict: bool) -> Bound:
        _numeric(param, repr(self))
        lo, hi = _clip_range(param, self.lo, self.hi, strict, repr(self))
        if lo <= 0:
            raise TableError(f"{param.name}: {self!r} needs a positive lower bound")
        llo, lspan = math.log(lo), math.log(hi) - math.log(lo)
        exp = math.exp
        if param.type == "int":
            return Bound(lambda r: min(hi, max(lo, round(exp(llo + lspan * r.random())))),
                         lambda g, n: np.clip(_as_int_list(np.exp(g.uniform(llo, llo + lspan,
                                                                             n))), lo,
                                              hi).tolist())
        return Bound(lambda r: min(hi, max(lo, exp(llo + lspan * r.random()))),
                     lambda g, n: np.clip(np.exp(g.uniform(llo, llo + lspan, n)), lo,
                                          hi).tolist())


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
            raise ValueError(f"ClippedNormal needs sd >= 0, got {self.sd}")

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


_VARIANT_SUFFIX = re.compile(r"_\d+$")


def category_variants(param: Param, value: Any) -> tuple[Any, ...]:
    """The choices of ``param`` that ``value`` stands for as a category: ``BURPEE`` for
    ``BURPEE_01``, ``BURPEE_02``, ... Empty when ``value`` is no category of ``param``."""
    if param.type != "str" or not param.choices or not isinstance(value, str):
        return ()
    prefix = value + "_"
    return tuple(c for c in param.choices
                 if c.startswith(prefix) and _VARIANT_SUFFIX.fullmatch(c[len(value):]))


def _categories(param: Param) -> list[str]:
    """Every category name ``param``'s choices define (for error messages)."""
    if param.type != "str" or not param.choices:
        return []
    names = {_VARIANT_SUFFIX.sub("", c) for c in param.choices if _VARIANT_SUFFIX.search(c)}
    return sorted(n for n in names if n not in param.choices)


@dataclass(frozen=True, init=False)
class Choice(Distribution):
    """One of ``values``, with optional ``weights``. A category value (``"BURPEE"``) stands
    for its numbered variants, which share its weight equally."""

    values: tuple[Any, ...]
    weights: tuple[float, ...] | None = None

    def __init__(self, values: Iterable[Any], weights: Iterable[float] | None = None) -> None:
        values = tuple(values)
        weights = None if weights is None else tuple(float(w) for w in weights)
        if not values:
            raise ValueError("Choice needs at least one value")
        if weights is not None and (len(weights) != len(values) or min(weights) < 0
                                    or sum(weights) <= 0):
            raise ValueError(f"Choice weights must be {len(values)} non-negative numbers "
                             f"with a positive sum, got {weights}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "weights", weights)

    def bind(self, param: Param, strict: bool) -> Bound:
        weights = self.weights or (1.0,) * len(self.values)
        kept: list[Any] = []
        kept_w: list[float] = []
        refused: list[str] = []
        for value, w in zip(self.values, weights, strict=True):
            if param.check(value) is None:
                kept.append(param.normalise(value))
                kept_w.append(w)
            elif variants := category_variants(param, value):
                kept.extend(variants)
                kept_w.extend([w / len(variants)] * len(variants))
            else:
                refused.append(param.check(value).message)
        if strict and refused:
            raise TableError("; ".join(refused) + _category_hint(param))
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
            raise ValueError(f"Coin needs 0 <= p <= 1, got {self.p}")

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


def _intersect(params: Sequence[Param]) -> Param:
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


# --------------------------------------------------------------------------------------------
# The table: VisionFit's parameters. Keys are parameter names, or tuples of names for joint
# entries. Parameters left out (scene, exercise, gender, avatar_identity, outfit,
# wall_art_type, frame_rate, state) are drawn from their schema: uniform over the choices or
# range, the default for ``state`` (a fresh seed).
# --------------------------------------------------------------------------------------------

DISTRIBUTIONS: Mapping[str | tuple[str, ...], Distribution | Tied] = {
    # Motion: a few reps at about normal speed, small variation.
    "num_reps": Uniform(1, 10),
    "rel_baseline_speed": ClippedNormal(1.0, 0.25, lo=0.5, hi=2.0),
    "max_rel_speed_change": Uniform(0.0, 0.3),
    "kinematic_noise_factor": ClippedNormal(1.0, 0.3),
    "inter_rep_delay_avg": Uniform(0.0, 1.0),
    "inter_rep_delay_var": Uniform(0.0, 0.5),
    "add_pauses": Coin(0.2),
    # Camera: far enough to see the whole body, roughly level, roughly centred.
    "camera_distance": Uniform(2.5, 5.0),
    "camera_height": Uniform(0.4, 2.0),
    "relative_camera_yaw_deg": Uniform(-20.0, 20.0),
    "relative_camera_pitch_deg": Uniform(-15.0, 15.0),
    # Person: mostly facing the camera, body shape as in a population (in sd units).
    "relative_avatar_angle_deg": ClippedNormal(0.0, 60.0),
    "relative_height": ClippedNormal(0.0, 1.0),
    "relative_weight": ClippedNormal(0.0, 1.0),
    "randomize_skin_tone": Coin(0.5),
    "hide_shoes": Coin(0.1),
    "add_socks": Coin(0.2),
    # Room and image.
    "add_wall_art": Coin(0.5),
    "allowable_occlusion": Uniform(25.0, 100.0),
    "lighting_power": LogUniform(10.0, 1000.0),
    "enable_sensor_noise": Coin(0.3),
    "enable_depth_maps": Constant(False),  # an output switch, not a variation of the data
    ("image_width", "image_height"): Tied(Choice((256, 512))),
    "state": Constant(None),
}


def _from_schema(param: Param) -> Distribution:
    """The draw for a parameter the table does not name, from its schema alone."""
    if param.choices:
        return Choice(param.choices)
    if param.type == "bool":
        return Coin(0.5)
    if param.type in ("int", "float") and param.min is not None and param.max is not None:
        return Uniform(param.min, param.max)
    return Constant(param.default)


# --------------------------------------------------------------------------------------------
# Binding the table to a schema (once per schema), and plans for given values
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything needed to draw jobs with a given set of fixed values."""

    template: dict[str, Any]  # every name in schema order; constants already filled in
    singles: list[tuple[str, Callable[[random.Random], Any]]]
    tied: list[tuple[tuple[str, ...], Callable[[random.Random], Any]]]
    many: list[tuple[tuple[str, ...], Callable[[np.random.Generator, int], list[Any]]]]


@dataclass
class _BoundTable:
    schema: Schema
    draws: dict[str, Distribution]  # per single parameter (table entry or schema fallback)
    groups: dict[str, tuple[tuple[str, ...], Distribution]]  # member -> (members, dist)
    bound: dict[str, Bound] = field(default_factory=dict)
    plans: dict[tuple, _Plan] = field(default_factory=dict)


_TABLES: weakref.WeakKeyDictionary[Schema, _BoundTable] = weakref.WeakKeyDictionary()
_MAX_PLANS = 256


def _schema_of(sesh: Any) -> Schema:
    if isinstance(sesh, Schema):
        return sesh
    schema = getattr(sesh, "schema", None)
    if not isinstance(schema, Schema):
        raise TypeError(f"expected a Session (or anything with a .schema Schema), got "
                        f"{type(sesh).__name__}")
    return schema


def _table_for(schema: Schema) -> _BoundTable:
    table = _TABLES.get(schema)
    if table is None:
        table = _bind_table(schema)
        _TABLES[schema] = table
    return table


def _bind_table(schema: Schema) -> _BoundTable:
    draws: dict[str, Distribution] = {}
    groups: dict[str, tuple[tuple[str, ...], Distribution]] = {}
    for key, entry in DISTRIBUTIONS.items():
        if isinstance(entry, Tied):
            members = tuple(n for n in key if n in schema)
            if len(members) > 1:
                for n in members:
                    groups[n] = (members, entry.dist)
            elif members:
                draws[members[0]] = entry.dist
        elif key in schema:
            draws[key] = entry
    table = _BoundTable(schema, {}, {})
    for p in schema:
        dist = draws.get(p.name) or _from_schema(p)
        try:
            table.bound[p.name] = dist.bind(p, strict=False)
        except TableError:
            # The schema forbids everything the table suggests: the schema wins.
            dist = _from_schema(p)
            table.bound[p.name] = dist.bind(p, strict=False)
        table.draws[p.name] = dist
    for name, (members, dist) in groups.items():
        try:
            dist.bind(_intersect([schema[m] for m in members]), strict=False)
        except TableError:
            continue  # no common value: the members are drawn independently
        table.groups[name] = (members, dist)
    return table


def _refusal(schema: Schema, name: str) -> str:
    close = difflib.get_close_matches(name, schema.names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"{name!r} is not a parameter of this generator{hint}; known parameters: "
            + ", ".join(schema.names))


def _category_hint(param: Param) -> str:
    cats = _categories(param)
    return f", or a category standing for its numbered variants: {', '.join(cats)}" if cats \
        else ""


def _given_distribution(param: Param, value: Any) -> tuple[Distribution | None, str | None]:
    """A given value as a distribution (a Constant for a plain allowed value), or the
    message saying why it is refused."""
    if isinstance(value, Distribution):
        try:
            value.bind(param, strict=True)
        except TableError as e:
            return None, f"{param.name}: {value!r} does not fit: {e}"
        return value, None
    if isinstance(value, Tied):
        return None, f"{param.name}: Tied is a table entry; give {value.dist!r} instead"
    problem = param.check(value)
    if problem is None:
        return Constant(value), None
    if variants := category_variants(param, value):
        return Choice(variants), None
    hint = _category_hint(param)
    if isinstance(value, (list, tuple, set, range)):
        hint += f"; to draw from several values, pass Choice({list(value)!r})"
    return None, problem.message + hint


def _plan_key(fixed: Mapping[str, Any]) -> tuple | None:
    try:
        key = tuple(sorted((k, type(v), v) for k, v in fixed.items()))
        hash(key)
    except TypeError:
        return None
    return key


def _plan_for(schema: Schema, fixed: Mapping[str, Any]) -> _Plan:
    table = _table_for(schema)
    key = _plan_key(fixed)
    plan = table.plans.get(key) if key is not None else None
    if plan is not None:
        return plan

    problems: list[str] = []
    given: dict[str, Distribution] = {}
    for name, value in fixed.items():
        param = schema.by_name.get(name)
        if param is None:
            problems.append(_refusal(schema, name))
            continue
        dist, problem = _given_distribution(param, value)
        if problem:
            problems.append(problem)
        else:
            given[name] = dist
    if problems:
        raise ValidationError("; ".join(problems), errors=["; ".join(problems)])

    # Joint entries: a tied group draws once; a given member leads the free ones.
    tied_groups: dict[tuple[str, ...], Distribution] = {}
    for members, dist in dict.fromkeys(table.groups.values()):
        free = tuple(m for m in members if m not in given)
        leaders = [m for m in members if m in given]
        if not free:
            continue
        if not leaders:
            tied_groups[members] = dist
            continue
        lead = leaders[0]
        group = (lead, *free)
        lead_dist = given.pop(lead)
        try:
            lead_dist.bind(_intersect([schema[m] for m in group]), strict=True)
        except TableError as e:
            message = (f"{', '.join(free)} follow{'s' if len(free) == 1 else ''} {lead} "
                       f"({' = '.join(members)}), but {e}; give {', '.join(free)} explicitly")
            raise ValidationError(message, errors=[message]) from None
        tied_groups[group] = lead_dist

    template: dict[str, Any] = dict.fromkeys(schema.names)
    singles: list[tuple[str, Callable[[random.Random], Any]]] = []
    tied: list[tuple[tuple[str, ...], Callable[[random.Random], Any]]] = []
    many: list[tuple[tuple[str, ...], Callable[[np.random.Generator, int], list[Any]]]] = []
    in_group = {m for members in tied_groups for m in members}
    for p in schema:
        if p.name in in_group:
            continue
        dist = given.get(p.name, table.draws[p.name])
        if isinstance(dist, Constant):  # filled in once, not drawn per job
            template[p.name] = p.normalise(dist.value)
            continue
        bound = dist.bind(p, strict=True) if p.name in given else table.bound[p.name]
        singles.append((p.name, bound.one))
        many.append(((p.name,), bound.many))
    for members, dist in tied_groups.items():
        if isinstance(dist, Constant):
            template.update(dict.fromkeys(members, schema[members[0]].normalise(dist.value)))
            continue
        bound = dist.bind(_intersect([schema[m] for m in members]), strict=False)
        tied.append((members, bound.one))
        many.append((members, bound.many))
    # Constant columns in the vectorised path come from the template.
    plan = _Plan(template, singles, tied, many)
    if key is not None:
        if len(table.plans) >= _MAX_PLANS:
            table.plans.clear()
        table.plans[key] = plan
    return plan


def distribution_table(sesh: Any, **fixed: Any) -> Any:
    """A pandas DataFrame saying how each parameter is drawn (given value, table entry or
    schema fallback) next to what the schema allows: the sampler's plan, for review."""
    import pandas as pd

    schema = _schema_of(sesh)
    _plan_for(schema, fixed)  # validates ``fixed`` exactly as sample_input does
    table = _table_for(schema)
    in_table = {n for k in DISTRIBUTIONS for n in (k if isinstance(k, tuple) else (k,))}
    rows = []
    for p in schema:
        members, dist = table.groups.get(p.name, ((), None))
        leaders = [m for m in members if m in fixed]
        if p.name in fixed:
            value = fixed[p.name]
            variants = category_variants(p, value) if p.check(value) is not None else ()
            how = f"{value!r}: one of {', '.join(variants)}" if variants else repr(value)
            source = "given"
        elif leaders:
            source, how = "given", f"same as {leaders[0]}"
        elif dist is not None:
            source, how = "table", f"{dist!r}, tied: {' = '.join(members)}"
        else:
            source = "table" if p.name in in_table else "schema"
            how = repr(table.draws[p.name])
        rows.append({"parameter": p.name, "type": p.type, "source": source, "draw": how,
                     "allowed": p.allowed(), "default": p.default})
    return pd.DataFrame.from_records(rows)


# --------------------------------------------------------------------------------------------
# Public sampling API
# --------------------------------------------------------------------------------------------

_shared_random = random.Random()


def _as_random(rng: RandomLike) -> random.Random:
    if rng is None:
        return _shared_random
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng must be None, an int seed or a random.Random, not "
                    f"{type(rng).__name__}")


def _as_generator(rng: RandomLike | np.random.Generator) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, random.Random):
        return np.random.default_rng(rng.getrandbits(128))
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed, a random.Random or a "
                    f"numpy.random.Generator, not {type(rng).__name__}")


def sample_input(sesh: Any, rng: RandomLike = None, **fixed: Any) -> dict[str, Any]:
    """One job: ``fixed`` values as given, every other parameter drawn from its distribution.

    ``sesh`` is a Session (or anything with a ``.schema``, or a Schema). ``rng`` is None (a
    shared generator), an int seed or a :class:`random.Random`; pass one ``random.Random``
    to a loop to draw a reproducible list (an int seed draws the same job every call).
    A fixed value may be a :class:`Distribution` or a category (``exercise="BURPEE"``).
    Raises :class:`~infinity_workflows.errors.ValidationError` naming each bad value.
    """
    plan = _plan_for(_schema_of(sesh), fixed)
    r = _as_random(rng)
    job = plan.template.copy()
    for name, one in plan.singles:
        job[name] = one(r)
    for members, one in plan.tied:
        value = one(r)
        for name in members:
            job[name] = value
    return job


def sample_inputs(sesh: Any, n: int, rng: RandomLike | np.random.Generator = None,
                  **fixed: Any) -> list[dict[str, Any]]:
    """``n`` jobs, drawn column by column with NumPy (same distributions as
    :func:`sample_input`, much faster for large lists). The same seed gives the same list."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    plan = _plan_for(_schema_of(sesh), fixed)
    g = _as_generator(rng)
    names = list(plan.template)
    columns: dict[str, list[Any]] = {}
    for members, many in plan.many:
        values = many(g, n)
        for name in members:
            columns[name] = values
    cols = [columns[name] if name in columns else [plan.template[name]] * n for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]


# --------------------------------------------------------------------------------------------
# Reruns from seeds
# --------------------------------------------------------------------------------------------


def _batch_label(batch: Any) -> str:
    return str(getattr(batch, "batch_id", None) or getattr(batch, "name", None) or "?")


def _completed_jobs(batch: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(job_id, complete params)`` of every valid completed job of ``batch``, in the
    batch's order. Params come from the batch itself (the server filled in defaults)."""
    params_by_id = {j["id"]: j["param_values"] for j in batch.jobs}
    out = []
    for job in batch.get_valid_completed_jobs():
        params = params_by_id.get(job["id"], job.get("param_values"))
        if params is None:
            raise ValueError(f"job {job['id']} is not part of batch {_batch_label(batch)}; "
                             f"refresh the batch with get_batch_data()")
        out.append((job["id"], dict(params)))
    order = {job_id: i for i, job_id in enumerate(params_by_id)}
    return sorted(out, key=lambda item: order.get(item[0], len(order)))


def _batch_is_preview(batch: Any) -> bool | None:
    kind = getattr(batch, "job_type", None)
    return None if kind not in ("preview", "video") else kind == "preview"


def _expand(overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None, batch: Any,
            job_ids: Iterable[str] | None, schema: Schema | None) -> list[dict[str, Any]]:
    if overrides is None:
        overrides = [{}]
    elif isinstance(overrides, Mapping):
        overrides = [overrides]
    overrides = list(overrides)
    if not overrides:
        raise ValueError("overrides is empty, so there is nothing to submit; pass [{}] to "
                         "rerun each job unchanged")
    problems = []
    for i, override in enumerate(overrides):
        if not isinstance(override, Mapping):
            problems.append(f"overrides[{i}] is a {type(override).__name__}, not a dict")
        elif "state" in override:
            problems.append(f"overrides[{i}] sets 'state', which every rerun job takes from "
                            f"its earlier job; leave it out")
        elif schema is not None:
            problems.extend(f"overrides[{i}]: {v.message}" for v in schema.violations(override))
    if problems:
        raise ValidationError("; ".join(problems), errors=problems)
    jobs = _completed_jobs(batch)
    if job_ids is not None:
        wanted = [str(j) for j in job_ids]
        have = dict(jobs)
        missing = [j for j in wanted if j not in have]
        if missing:
            raise ValueError(f"not valid completed jobs of batch {_batch_label(batch)}: "
                             f"{', '.join(missing)}; choose among {', '.join(have) or 'none'}")
        jobs = [(j, have[j]) for j in dict.fromkeys(wanted)]
    return [{**params, **override, "state": job_id}
            for job_id, params in jobs for override in overrides]


def _expand_kind(overrides: Any, prev_batch: Any, job_ids: Iterable[str] | None,
                 preview: bool) -> list[dict[str, Any]]:
    kind = _batch_is_preview(prev_batch)
    if kind is not None and kind != preview:
        want, got = ("preview", "video") if preview else ("video", "preview")
        other = "video" if preview else "preview"
        raise ValueError(f"batch {_batch_label(prev_batch)} is a {got} batch; use "
                         f"expand_overrides_across_each_{other}_state for it (this one expects "
                         f"a {want} batch)")
    session = getattr(prev_batch, "session", None)
    return _expand(overrides, prev_batch, job_ids, getattr(session, "schema", None))


def expand_overrides_across_each_preview_state(
        overrides: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None, prev_batch: Any,
        job_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """For each valid completed job of the preview batch ``prev_batch`` (or only those in
    ``job_ids``) and each override: that job's params with the override applied and
    ``state`` set to the job's id, so the server reuses its seed."""
    return _expand_kind(overrides, prev_batch, job_ids, preview=True)


def expand_overrides_across_each_video_state(
        overrides: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None, prev_batch: Any,
        job_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """As :func:`expand_overrides_across_each_preview_state`, for a video batch."""
    return _expand_kind(overrides, prev_batch, job_ids, preview=False)


def _submit_rerun(sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None,
                  job_ids: Iterable[str] | None, is_preview: bool) -> Any:
    jobs = _expand(overrides, prev_batch, job_ids, _schema_of(sesh))
    if not jobs:
        raise ValueError(f"batch {_batch_label(prev_batch)} has no valid completed jobs "
                         f"to rerun yet; wait for it (Batch.await_completion) first")
    if batch_name is None:
        base = getattr(prev_batch, "name", None) or _batch_label(prev_batch)
        batch_name = f"{base}-rerun-{'previews' if is_preview else 'videos'}"
    return sesh.submit(job_params=jobs, is_preview=is_preview, batch_name=batch_name)


def submit_rerun_batch_with_overrides_previews(
        sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None = None,
        job_ids: Iterable[str] | None = None) -> Any:
    """Submit, as previews, every completed job of ``prev_batch`` (or those in ``job_ids``)
    once per override, each reusing its earlier job's seed. Returns the new Batch."""
    return _submit_rerun(sesh, prev_batch, overrides, batch_name, job_ids, is_preview=True)


def submit_rerun_batch_with_overrides_videos(
        sesh: Any, prev_batch: Any, overrides: Any, batch_name: str | None = None,
        job_ids: Iterable[str] | None = None) -> Any:
    """As :func:`submit_rerun_batch_with_overrides_previews`, submitted as videos: render
    cheap previews, pick the ones you like, rerun them as videos."""
    return _submit_rerun(sesh, prev_batch, overrides, batch_name, job_ids, is_preview=False)
