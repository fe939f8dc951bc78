"""What the sampler is given: a Session (ours or infinity-core's), a Schema, or plain schema
data (infinity-core's ``parameter_info`` dict, the API's ``params`` list).

:func:`schema_of` turns the thing a user passes into a
:class:`~infinity_workflows.schema.Schema` (the one shape the engine works on), and
:func:`sampler_for` adds the declarations of the generator it belongs to: the installed
plug-in named by the source's ``generator``, else the plug-in whose own schema it is, else
``fallback``. Samplers are cached per schema, so a loop of ``sample_input`` calls binds the
table once.
"""

from __future__ import annotations

import json
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from ..generators import installed_generator, installed_generators
from ..schema import Schema
from .categories import Categories
from .sampler import Sampler
from .table import Distributions

__all__ = ["Declarations", "cached_sampler", "sampler_for", "schema_of"]


class Declarations(Protocol):
    """What a generator declares for sampling (a Generator plug-in has both)."""

    distributions: Distributions
    categories: Categories


_NONE: MappingProxyType = MappingProxyType({})
# schema -> (id(distributions), id(categories)) -> (distributions, categories, sampler); the
# declarations are kept so that their ids stay theirs.
_SAMPLERS: weakref.WeakKeyDictionary[Schema, dict[tuple[int, int], tuple[Any, Any, Sampler]]] \
    = weakref.WeakKeyDictionary()


# Schemas rebuilt from plain data, by content: a loop of sample_input(core_session) binds
# the table once, as it does for our Session, instead of once per call.
_REBUILT: OrderedDict[str, Schema] = OrderedDict()
_MAX_REBUILT = 32


# The last object rebuilt from, and its schema: a loop over the same Session's
# ``parameter_info`` (fetched once per infinity-core Session, never edited in place) skips
# even the JSON key.
_last_rebuilt: tuple[Any, Schema] | None = None


def _rebuilt(key_data: Any, build: Callable[[], Schema]) -> Schema:
    global _last_rebuilt
    if _last_rebuilt is not None and _last_rebuilt[0] is key_data:
        return _last_rebuilt[1]
    key = json.dumps(key_data, sort_keys=True, default=str)
    schema = _REBUILT.get(key)
    if schema is None:
        schema = _REBUILT[key] = build()
        if len(_REBUILT) > _MAX_REBUILT:
            _REBUILT.popitem(last=False)
    _REBUILT.move_to_end(key)
    _last_rebuilt = (key_data, schema)
    return schema


def schema_of(source: Any) -> Schema:
    """The schema of ``source``: a Schema; the ``.schema`` of a Session (or of a Sampler);
    infinity-core's Session (its ``parameter_info``) or that dict itself; or the API's
    ``params`` list."""
    if isinstance(source, Schema):
        return source
    schema = getattr(source, "schema", None)
    if isinstance(schema, Schema):
        return schema
    info = source if isinstance(source, Mapping) else getattr(source, "parameter_info", None)
    if isinstance(info, Mapping):
        return _rebuilt(info, lambda: Schema.from_parameter_info(info))
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(p, Mapping) for p in source):
        return _rebuilt(source, lambda: Schema.from_api(source))
    raise TypeError(f"expected a Session (ours or infinity-core's), a Schema, a "
                    f"parameter_info dict or the API's params list, got "
                    f"{type(source).__name__}")


def _declarations(source: Any, schema: Schema, fallback: Declarations | None
                  ) -> Declarations | None:
    name = getattr(source, "generator", None)
    if isinstance(name, str):
        found = installed_generator(name)
        return found if found is not None else fallback
    owner = next((g for g in installed_generators() if g.schema is schema), None)
    return owner if owner is not None else fallback


def cached_sampler(schema: Schema, declarations: Declarations | None = None) -> Sampler:
    """The sampler for ``schema`` with ``declarations`` (None: the schema alone), bound once."""
    distributions = getattr(declarations, "distributions", None) or _NONE
    categories = getattr(declarations, "categories", None) or _NONE
    per_schema = _SAMPLERS.setdefault(schema, {})
    key = (id(distributions), id(categories))
    entry = per_schema.get(key)
    if entry is None:
        entry = per_schema[key] = (distributions, categories,
                                   Sampler(schema, distributions, categories))
    return entry[2]


# The last sampler found for a Schema: a loop of sample_input(schema) skips the search of the
# installed generators. Valid while the installed set is the same registry object (it is
# loaded once per process; clearing that cache makes a new one).
_last_for_schema: tuple[Schema, Any, Any, Sampler] | None = None


def sampler_for(source: Any, fallback: Declarations | None = None) -> Sampler:
    """The sampler for ``source`` with its generator's declarations (see module doc); a
    Sampler is its own."""
    global _last_for_schema
    if isinstance(source, Sampler):
        return source
    if isinstance(source, Schema):
        registry = installed_generators()
        last = _last_for_schema
        if (last is not None and last[0] is source and last[1] is fallback
                and last[2] is registry):
            return last[3]
        sampler = cached_sampler(source, _declarations(source, source, fallback))
        _last_for_schema = (source, fallback, registry, sampler)
        return sampler
    schema = schema_of(source)
    return cached_sampler(schema, _declarations(source, schema, fallback))
