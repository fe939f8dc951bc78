"""Categories: a name that stands for several choices of a parameter (``exercise="BURPEE"``
for ``BURPEE_01``, ``BURPEE_02``, ...), picked at random per job.

A generator declares its categories next to its schema (``Generator.categories``: parameter
-> category -> variants); :func:`numbered_categories` derives them from the common naming
convention. Declared variants are bound to the schema in use, so a narrower server only
offers the variants it allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..schema import Param, Schema
from .distributions import Choice, Distribution

__all__ = ["Categories", "bind_categories", "category_hint", "expand", "numbered_categories"]

# parameter name -> category name -> the choices it stands for
Categories = Mapping[str, Mapping[str, Sequence[Any]]]

_VARIANT_SUFFIX = re.compile(r"_\d+$")


def numbered_categories(choices: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Categories of numbered choices: ``BURPEE`` -> ``(BURPEE_01, BURPEE_02, ...)``.

    A name that is itself one of ``choices`` is a value, not a category.
    """
    choices = tuple(choices)
    found: dict[str, list[str]] = {}
    for choice in choices:
        if isinstance(choice, str) and _VARIANT_SUFFIX.search(choice):
            found.setdefault(_VARIANT_SUFFIX.sub("", choice), []).append(choice)
    return {name: tuple(variants) for name, variants in sorted(found.items())
            if name not in choices}


def bind_categories(schema: Schema, declared: Categories
                    ) -> dict[str, dict[str, tuple[Any, ...]]]:
    """The declared categories the schema's parameters can use: variants limited to allowed
    values, categories left with no variant (or named like an allowed value) dropped."""
    bound: dict[str, dict[str, tuple[Any, ...]]] = {}
    for name, categories in declared.items():
        param = schema.by_name.get(name)
        if param is None:
            continue
        usable = {}
        for category, variants in categories.items():
            allowed = tuple(v for v in variants if param.check(v) is None)
            if allowed and param.check(category) is not None:
                usable[category] = allowed
        if usable:
            bound[name] = usable
    return bound


def expand(dist: Distribution, categories: Mapping[str, tuple[Any, ...]]) -> Distribution:
    """``dist`` with every category among its choices replaced by its variants, which share
    the category's weight equally."""
    if not categories or not isinstance(dist, Choice):
        return dist
    if not any(_is_category(v, categories) for v in dist.values):
        return dist
    values: list[Any] = []
    weights: list[float] = []
    for value, weight in dist.weighted:
        variants = categories[value] if _is_category(value, categories) else (value,)
        values.extend(variants)
        weights.extend([weight / len(variants)] * len(variants))
    return Choice(values, weights)


def _is_category(value: Any, categories: Mapping[str, tuple[Any, ...]]) -> bool:
    return isinstance(value, str) and value in categories


def category_hint(param: Param, categories: Mapping[str, tuple[Any, ...]]) -> str:
    """The tail of a refusal message naming the categories ``param`` accepts."""
    if not categories:
        return ""
    return f", or a category standing for several of them: {', '.join(sorted(categories))}"
