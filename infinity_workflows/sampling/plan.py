"""Plans: what a sampler does for one set of given values, worked out once and reused.

A given value is checked against the schema with a message naming the parameter, the value
and what is allowed. It may be a plain value, a :class:`~.distributions.Distribution`, or a
category the generator declares (standing for its variants). A given member of a tied entry
leads the free ones.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..schema import Param, Schema
from .categories import category_hint, expand
from .distributions import Choice, Constant, Distribution, TableError, Tied, intersect
from .table import BoundTable

__all__ = ["Plan", "make_plan", "plan_key"]

OneDraw = Callable[[random.Random], Any]
ManyDraw = Callable[[np.random.Generator, int], list[Any]]


@dataclass
class Plan:
    """Everything needed to draw jobs with a given set of fixed values."""

    template: dict[str, Any]  # every name in schema order; constants already filled in
    singles: list[tuple[str, OneDraw]]
    tied: list[tuple[tuple[str, ...], OneDraw]]
    many: list[tuple[tuple[str, ...], ManyDraw]]


def plan_key(fixed: Mapping[str, Any]) -> tuple | None:
    """A hashable key for ``fixed``, or None when a value cannot be hashed."""
    if not fixed:  # the common call: nothing given
        return ()
    try:
        key = tuple(sorted((k, type(v), v) for k, v in fixed.items()))
        hash(key)
    except TypeError:
        return None
    return key


def _refusal(schema: Schema, name: str) -> str:
    close = difflib.get_close_matches(name, schema.names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"{name!r} is not a parameter of this generator{hint}; known parameters: "
            + ", ".join(schema.names))


def given_distribution(param: Param, value: Any, categories: Mapping[str, tuple[Any, ...]]
                       ) -> tuple[Distribution | None, str | None]:
    """A given value as a distribution (a Constant for a plain allowed value), or the
    message saying why it is refused."""
    if isinstance(value, Distribution):
        value = expand(value, categories)
        try:
            value.bind(param, strict=True)
        except TableError as e:
            detail = str(e) + (category_hint(param, categories)
                               if isinstance(value, Choice) else "")
            return None, f"{param.name}: {value!r} does not fit: {detail}"
        return value, None
    if isinstance(value, Tied):
        return None, f"{param.name}: Tied is a table entry; give {value.dist!r} instead"
    problem = param.check(value)
    if problem is None:
        return Constant(value), None
    if isinstance(value, str) and value in categories:
        return Choice(categories[value]), None
    hint = category_hint(param, categories)
    if isinstance(value, (list, tuple, set, range)):
        hint += f"; to draw from several values, pass Choice({list(value)!r})"
    return None, problem.message + hint


def _given(table: BoundTable, fixed: Mapping[str, Any]) -> dict[str, Distribution]:
    schema = table.schema
    problems: list[str] = []
    given: dict[str, Distribution] = {}
    for name, value in fixed.items():
        param = schema.by_name.get(name)
        if param is None:
            problems.append(_refusal(schema, name))
            continue
        dist, problem = given_distribution(param, value, table.categories.get(name, {}))
        if problem:
            problems.append(problem)
        else:
            given[name] = dist
    if problems:
        raise ValidationError("; ".join(problems))
    return given


def _tied_groups(table: BoundTable, given: dict[str, Distribution]
                 ) -> dict[tuple[str, ...], Distribution]:
    """Joint entries as drawn: a tied group draws once; a given member leads the free ones
    (and is taken out of ``given``)."""
    schema = table.schema
    groups: dict[tuple[str, ...], Distribution] = {}
    for members, dist in dict.fromkeys(table.groups.values()):
        free = tuple(m for m in members if m not in given)
        leaders = [m for m in members if m in given]
        if not free:
            continue
        if not leaders:
            groups[members] = dist
            continue
        lead = leaders[0]
        group = (lead, *free)
        lead_dist = given.pop(lead)
        try:
            lead_dist.bind(intersect([schema[m] for m in group]), strict=True)
        except TableError as e:
            raise ValidationError(f"{', '.join(free)} follow{'s' if len(free) == 1 else ''} {lead} "
                          f"({' = '.join(members)}), but {e}; give {', '.join(free)} "
                          "explicitly") from None
        groups[group] = lead_dist
    return groups


def make_plan(table: BoundTable, fixed: Mapping[str, Any]) -> Plan:
    """The plan for ``fixed``; raises :class:`ValidationError` naming every bad value."""
    schema = table.schema
    given = _given(table, fixed)
    tied_groups = _tied_groups(table, given)
    plan = Plan(dict.fromkeys(schema.names), [], [], [])
    in_group = {m for members in tied_groups for m in members}
    for p in schema:
        if p.name in in_group:
            continue
        dist = given.get(p.name, table.draws[p.name])
        if isinstance(dist, Constant):  # filled in once, not drawn per job
            plan.template[p.name] = p.normalise(dist.value)
            continue
        bound = dist.bind(p, strict=True) if p.name in given else table.bound[p.name]
        plan.singles.append((p.name, bound.one))
        plan.many.append(((p.name,), bound.many))
    for members, dist in tied_groups.items():
        if isinstance(dist, Constant):
            plan.template.update(dict.fromkeys(members, schema[members[0]].normalise(dist.value)))
            continue
        bound = dist.bind(intersect([schema[m] for m in members]), strict=False)
        plan.tied.append((members, bound.one))
        plan.many.append((members, bound.many))
    return plan
