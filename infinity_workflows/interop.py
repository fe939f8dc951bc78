"""Objects from Infinity's own client (infinity-core), turned into ours.

People coming from Infinity's toolkit hold infinity-core ``Session`` and ``Batch`` objects
(plain data: ``token``, ``generator``, ``server``, ``batch_id``, ``parameter_info``) or a
parameter schema as a plain dict. These functions accept them wherever ours are expected:
an object that is already ours passes through unchanged, anything else is rebuilt from the
data it carries, fetched again from its server. Nothing is implemented twice: the result is
an ordinary :class:`Session`, :class:`Batch` or :class:`Schema`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from .batch import Batch
from .schema import Schema
from .session import Session

__all__ = ["as_batch", "as_session", "schema_from_parameter_info", "schema_of"]

# Schemas rebuilt from plain data, by content: a loop of sample_input(core_session) binds
# the sampler's table once, as it does for our Session, instead of once per call.
_REBUILT: OrderedDict[str, Schema] = OrderedDict()
_MAX_REBUILT = 32


def _attrs(obj: Any, *names: str) -> dict[str, Any] | None:
    values = {n: getattr(obj, n, None) for n in names}
    return values if all(isinstance(v, str) and v for v in values.values()) else None


def as_session(sesh: Any) -> Session:
    """Our Session for ``sesh``: ours as it is, or one for the same token, generator and
    server as an infinity-core Session."""
    if isinstance(sesh, Session):
        return sesh
    found = _attrs(sesh, "token", "generator", "server")
    if found is None:
        raise TypeError(f"expected a Session (ours or infinity-core's, with token, generator "
                        f"and server), got {type(sesh).__name__}")
    return Session(token=found["token"], generator=found["generator"], server=found["server"])


def as_batch(batch: Any) -> Batch:
    """Our Batch for ``batch``: ours as it is, or the same batch fetched again for an
    infinity-core Batch (which carries its token, server and id)."""
    if isinstance(batch, Batch):
        return batch
    found = _attrs(batch, "token", "server", "batch_id")
    if found is None:
        raise TypeError(f"expected a Batch (ours or infinity-core's, with token, server and "
                        f"batch_id), got {type(batch).__name__}")
    return Session.for_batch(found["batch_id"], token=found["token"], server=found["server"])


def _rebuilt(params: list[dict[str, Any]]) -> Schema:
    key = json.dumps(params, sort_keys=True, default=str)
    schema = _REBUILT.get(key)
    if schema is None:
        schema = _REBUILT[key] = Schema.from_api(params)
        if len(_REBUILT) > _MAX_REBUILT:
            _REBUILT.popitem(last=False)
    _REBUILT.move_to_end(key)
    return schema


def schema_from_parameter_info(parameter_info: Mapping[str, Mapping[str, Any]]) -> Schema:
    """A Schema from infinity-core's ``Session.parameter_info``: ``{name: {type,
    default_value, options}}`` (the API's parameter documents keyed by name)."""
    if not isinstance(parameter_info, Mapping) or not all(
            isinstance(v, Mapping) for v in parameter_info.values()):
        raise TypeError("parameter_info must map each parameter name to a dict with type, "
                        "default_value and options")
    return _rebuilt([{**info, "name": name} for name, info in parameter_info.items()])


def schema_of(source: Any) -> Schema:
    """The parameter schema of ``source``: a Schema; our Session (its ``.schema``); an
    infinity-core Session (its ``parameter_info``); that dict itself; or the API's
    ``params`` list."""
    if isinstance(source, Schema):
        return source
    schema = getattr(source, "schema", None)
    if isinstance(schema, Schema):
        return schema
    if isinstance(source, Mapping):
        return schema_from_parameter_info(source)
    if isinstance(source, Sequence) and not isinstance(source, str) and source and all(
            isinstance(p, Mapping) for p in source):
        return _rebuilt([dict(p) for p in source])  # the API's ``params`` list
    info = getattr(source, "parameter_info", None)
    if isinstance(info, Mapping):
        return schema_from_parameter_info(info)
    raise TypeError(f"expected a Session (ours or infinity-core's), a Schema or a "
                    f"parameter_info dict, got {type(source).__name__}")
