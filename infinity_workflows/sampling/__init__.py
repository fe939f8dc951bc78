"""Draw job parameters at random, within what the generator's schema allows.

Each parameter is drawn from its generator's distributions table (declared by the plug-in
next to its schema), or from its schema alone when the table leaves it out. Values a caller
gives (``sample_input(sesh, camera_distance=3.0)``) are checked against the schema with
messages that name the parameter, the value and what is allowed; a given value may also be a
:class:`Distribution` (``camera_distance=Uniform(2, 3)``) or a category the generator
declares (``exercise="BURPEE"`` for one of ``BURPEE_01``, ``BURPEE_02``, ...).

One module per idea: :mod:`.distributions` (how one value is drawn), :mod:`.categories`,
:mod:`.table` (a generator's table bound to a schema), :mod:`.plan` (given values checked
once), :mod:`.sampler` (drawing jobs) and :mod:`.source` (from a Session to a sampler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import lazy_exports

if TYPE_CHECKING:
    import numpy as np

    from .categories import Categories, category_note, movement_categories, numbered_categories
    from .distributions import (
        Choice,
        ClippedNormal,
        Coin,
        Constant,
        Distribution,
        LogUniform,
        Tied,
        Uniform,
    )
    from .sampler import RandomLike, Sampler
    from .source import Declarations, sampler_for, schema_of
    from .table import Distributions

# Names are imported from their modules on first use, so a module that needs one small part
# (the server's refusal message, ``category_note``) loads neither NumPy nor the sampler.
_MODULES = {
    "Categories": ".categories", "category_note": ".categories",
    "movement_categories": ".categories", "numbered_categories": ".categories",
    **dict.fromkeys(("Choice", "ClippedNormal", "Coin", "Constant", "Distribution",
                     "LogUniform", "Tied", "Uniform"), ".distributions"),
    "RandomLike": ".sampler", "Sampler": ".sampler",
    "Declarations": ".source", "sampler_for": ".source", "schema_of": ".source",
    "Distributions": ".table",
}


__getattr__, __dir__ = lazy_exports(__name__, _MODULES, globals())

__all__ = [
    "Categories",
    "Choice",
    "ClippedNormal",
    "Coin",
    "Constant",
    "Declarations",
    "Distribution",
    "Distributions",
    "LogUniform",
    "Sampler",
    "Tied",
    "Uniform",
    "category_note",
    "distribution_table",
    "movement_categories",
    "numbered_categories",
    "sample_input",
    "sample_inputs",
    "sampler_for",
    "schema_of",
]


def sample_input(sesh: Any, rng: RandomLike = None, **fixed: Any) -> dict[str, Any]:
    """One job: ``fixed`` values as given, every other parameter drawn from its distribution.

    ``sesh`` is a Session (ours or infinity-core's, or anything with a ``.schema``), a
    Schema, a ``parameter_info`` dict, the API's ``params`` list, or a :class:`Sampler`.
    ``rng`` is None (a shared generator), an int seed or a :class:`random.Random`; pass one
    ``random.Random`` to a loop to draw a reproducible list (an int seed draws the same job
    every call).
    Raises :class:`~infinity_workflows.errors.ValidationError` naming each bad value.
    """
    from .source import sampler_for

    return sampler_for(sesh).sample(fixed, rng)


def sample_inputs(sesh: Any, n: int, rng: RandomLike | np.random.Generator = None,
                  **fixed: Any) -> list[dict[str, Any]]:
    """``n`` jobs, drawn column by column with NumPy (same distributions as
    :func:`sample_input`, much faster for large lists). The same seed gives the same list."""
    from .source import sampler_for

    return sampler_for(sesh).sample_many(n, fixed, rng)


def distribution_table(sesh: Any, **fixed: Any) -> Any:
    """A pandas DataFrame saying how each parameter is drawn (given value, table entry or
    schema fallback) next to what the schema allows: the sampler's plan, for review."""
    import pandas as pd

    from .source import sampler_for

    return pd.DataFrame.from_records(sampler_for(sesh).describe(fixed))
