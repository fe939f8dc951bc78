"""A generator's distributions table, bound once to the schema in use.

The table (``Generator.distributions``) maps a parameter name, or a tuple of names for a
:class:`~.distributions.Tied` entry, to a distribution. A parameter the table leaves out is
drawn from its schema alone (uniform over its choices or ``min..max``, a fair coin for a
bool, the default otherwise). The schema is the law and the table a suggestion: an entry the
schema forbids entirely falls back to the schema's own draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..schema import Param, Schema
from .categories import Categories, bind_categories, expand
from .distributions import (
    Bound,
    Choice,
    Coin,
    Constant,
    Distribution,
    TableError,
    Tied,
    Uniform,
    intersect,
)

__all__ = ["BoundTable", "Distributions", "bind_table", "from_schema"]

# parameter name (or tuple of names for a joint entry) -> how it is drawn
Distributions = Mapping["str | tuple[str, ...]", "Distribution | Tied"]


def from_schema(param: Param) -> Distribution:
    """The draw for a parameter the table does not name, from its schema alone."""
    if param.choices:
        return Choice(param.choices)
    if param.type == "bool":
        return Coin(0.5)
    if param.type in ("int", "float") and param.min is not None and param.max is not None:
        return Uniform(param.min, param.max)
    return Constant(param.default)


@dataclass
class BoundTable:
    """The table fitted to one schema."""

    schema: Schema
    draws: dict[str, Distribution] = field(default_factory=dict)  # per single parameter
    bound: dict[str, Bound] = field(default_factory=dict)
    # member -> (members, distribution) for joint entries whose members share a value
    groups: dict[str, tuple[tuple[str, ...], Distribution]] = field(default_factory=dict)
    categories: dict[str, dict[str, tuple[Any, ...]]] = field(default_factory=dict)
    named: frozenset[str] = frozenset()  # parameters the table itself names

    def source_of(self, name: str) -> str:
        return "table" if name in self.named else "schema"


def bind_table(schema: Schema, distributions: Distributions | None = None,
               categories: Categories | None = None) -> BoundTable:
    table = BoundTable(schema, categories=bind_categories(schema, categories or {}))
    draws: dict[str, Distribution] = {}
    groups: dict[str, tuple[tuple[str, ...], Distribution]] = {}
    for key, entry in (distributions or {}).items():
        if isinstance(entry, Tied):
            members = tuple(n for n in key if n in schema)
            if len(members) > 1:
                for n in members:
                    groups[n] = (members, entry.dist)
            elif members:
                draws[members[0]] = entry.dist
        elif key in schema:
            draws[key] = expand(entry, table.categories.get(key, {}))
    table.named = frozenset(draws) | frozenset(groups)
    for p in schema:
        dist = draws.get(p.name) or from_schema(p)
        try:
            table.bound[p.name] = dist.bind(p, strict=False)
        except TableError:
            # The schema forbids everything the table suggests: the schema wins.
            dist = from_schema(p)
            table.bound[p.name] = dist.bind(p, strict=False)
        table.draws[p.name] = dist
    for name, (members, dist) in groups.items():
        try:
            dist.bind(intersect([schema[m] for m in members]), strict=False)
        except TableError:
            continue  # no common value: the members are drawn independently
        table.groups[name] = (members, dist)
    return table
