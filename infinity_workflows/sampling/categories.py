"""Categories: a name that stands for several choices of a parameter (``exercise="BURPEE"``
for ``BURPEE_01``, ``BURPEE_02``, ...), picked at random per job.

A generator declares its categories next to its schema (``Generator.categories``: parameter
-> category -> variants); :func:`numbered_categories` derives them from the common naming
convention. Declared variants are bound to the schema in use, so a narrower server only
offers the variants it allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..schema import Param, Schema, Violation

if TYPE_CHECKING:
    from .distributions import Distribution

__all__ = [
    "Categories",
    "bind_categories",
    "category_hint",
    "category_note",
    "expand",
    "movement_categories",
    "numbered_categories",
]

# parameter name -> category name -> the choices it stands for
Categories = Mapping[str, Mapping[str, Sequence[Any]]]

_VARIANT_SUFFIX = re.compile(r"_\d+$")


def _grouped(choices: Iterable[str], category_of: Callable[[str], str]
             ) -> dict[str, tuple[str, ...]]:
    """Choices grouped by ``category_of``; a name that is itself a choice is a value, not
    a category."""
    choices = tuple(choices)
    found: dict[str, list[str]] = {}
    for choice in choices:
        if isinstance(choice, str) and (name := category_of(choice)) != choice:
            found.setdefault(name, []).append(choice)
    return {name: tuple(variants) for name, variants in sorted(found.items())
            if name not in choices}


def numbered_categories(choices: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Categories of numbered choices: ``BURPEE`` -> ``(BURPEE_01, BURPEE_02, ...)``."""
    return _grouped(choices, lambda c: _VARIANT_SUFFIX.sub("", c))


def movement_categories(choices: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Categories by movement, the naming convention of Infinity's exercises: the name
    before the first ``-`` or a numbered suffix. ``UPPERCUT`` -> ``(UPPERCUT-LEFT,
    UPPERCUT-RIGHT)``, ``SQUAT`` -> its variants, ``BURPEE`` -> ``BURPEE_01``...; a name
    that is itself a choice (``PUSHUP``) is a value."""
    return _grouped(choices, lambda c: _VARIANT_SUFFIX.sub("", c.split("-", 1)[0]))


def category_note(violation: Violation, values: Any, categories: Categories) -> str:
    """The tail of a validator's refusal of a value that is one of the parameter's
    categories: a job names one value, the sampler is what picks one of a category's
    variants. The server and the client both add it, so they say what the sampler takes."""
    if violation.rule != "choices" or not isinstance(values, Mapping):
        return ""
    value = values.get(violation.param)
    mine = categories.get(violation.param) or {}
    if not isinstance(value, str) or value not in mine:
        return ""
    variants = ", ".join(map(str, mine[value]))
    return (f" ({value!r} is a category standing for {variants}: sample_input picks one "
            f"per job; a submitted job names one)")


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
    from .distributions import Choice  # NumPy: only where jobs are drawn, not for a message

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
