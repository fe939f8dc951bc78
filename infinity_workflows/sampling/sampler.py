"""The sampler: a schema plus a generator's declarations, drawing whole jobs.

Two code paths draw values: a scalar one on :class:`random.Random` (:meth:`Sampler.sample`)
and a vectorised one on :class:`numpy.random.Generator` (:meth:`Sampler.sample_many`). Both
come from the same bound distributions, so they agree on the support, not on the exact
numbers. Plans for given values are cached, so drawing in a loop costs one dict per job.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..schema import Schema
from .categories import Categories
from .plan import Plan, make_plan, plan_key
from .table import Distributions, bind_table

__all__ = ["RandomLike", "Sampler"]

RandomLike = random.Random | int | None
_MAX_PLANS = 256
_shared_random = random.Random()


def as_random(rng: RandomLike) -> random.Random:
    if rng is None:
        return _shared_random
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng must be None, an int seed or a random.Random, not "
                    f"{type(rng).__name__}")


def as_generator(rng: RandomLike | np.random.Generator) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, random.Random):
        return np.random.default_rng(rng.getrandbits(128))
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed, a random.Random or a "
                    f"numpy.random.Generator, not {type(rng).__name__}")


class Sampler:
    """Draws jobs valid against ``schema``, following a generator's ``distributions`` table
    and ``categories`` (both optional: without them every parameter is drawn from its
    schema alone, uniformly)."""

    def __init__(self, schema: Schema, distributions: Distributions | None = None,
                 categories: Categories | None = None) -> None:
        self.schema = schema
        self.table = bind_table(schema, distributions, categories)
        self._plans: dict[tuple, Plan] = {}

    def plan(self, fixed: Mapping[str, Any]) -> Plan:
        """The (cached) plan for ``fixed``; raises ValidationError naming each bad value."""
        key = plan_key(fixed)
        plan = self._plans.get(key) if key is not None else None
        if plan is None:
            plan = make_plan(self.table, fixed)
            if key is not None:
                if len(self._plans) >= _MAX_PLANS:
                    self._plans.clear()
                self._plans[key] = plan
        return plan

    def sample(self, fixed: Mapping[str, Any] | None = None, rng: RandomLike = None
               ) -> dict[str, Any]:
        """One job: ``fixed`` values as given, every other parameter drawn."""
        plan = self.plan(fixed or {})
        r = as_random(rng)
        job = plan.template.copy()
        for name, one in plan.singles:
            job[name] = one(r)
        for members, one in plan.tied:
            value = one(r)
            for name in members:
                job[name] = value
        return job

    def sample_many(self, n: int, fixed: Mapping[str, Any] | None = None,
                    rng: RandomLike | np.random.Generator = None) -> list[dict[str, Any]]:
        """``n`` jobs, drawn column by column with NumPy. The same seed gives the same list."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValidationError(f"n must be a non-negative int, got {n!r}")
        plan = self.plan(fixed or {})
        g = as_generator(rng)
        names = list(plan.template)
        columns: dict[str, list[Any]] = {}
        for members, many in plan.many:
            values = many(g, n)
            for name in members:
                columns[name] = values
        cols = [columns[name] if name in columns else [plan.template[name]] * n
                for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]

    def describe(self, fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One row per parameter: how it is drawn (given, table or schema) beside what the
        schema allows. Validates ``fixed`` exactly as :meth:`sample` does."""
        fixed = dict(fixed or {})
        self.plan(fixed)
        table = self.table
        rows = []
        for p in self.schema:
            members, dist = table.groups.get(p.name, ((), None))
            leaders = [m for m in members if m in fixed]
            if p.name in fixed:
                value = fixed[p.name]
                variants = table.categories.get(p.name, {}).get(value, ()) \
                    if isinstance(value, str) and p.check(value) is not None else ()
                how = f"{value!r}: one of {', '.join(variants)}" if variants else repr(value)
                source = "given"
            elif leaders:
                source, how = "given", f"same as {leaders[0]}"
            elif dist is not None:
                source, how = "table", f"{dist!r}, tied: {' = '.join(members)}"
            else:
                source, how = table.source_of(p.name), repr(table.draws[p.name])
            rows.append({"parameter": p.name, "type": p.type, "source": source, "draw": how,
                         "allowed": p.allowed(), "default": p.default})
        return rows
