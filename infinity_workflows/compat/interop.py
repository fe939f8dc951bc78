"""Objects from Infinity's own client (infinity-core), turned into ours.

People coming from Infinity's toolkit hold infinity-core ``Session`` and ``Batch`` objects
(plain data: ``token``, ``generator``, ``server``, ``batch_id``). These functions accept
them wherever ours are expected: an object that is already ours passes through unchanged,
anything else is fetched again from its server with the data it carries. Nothing is
implemented twice: the result is an ordinary :class:`Session` or :class:`Batch`. (The sampler
takes infinity-core's Session as it is: :func:`infinity_workflows.sampling.schema_of`.)
``infinity_workflows.interop``, this module's name before it moved here, still imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..batch import Batch
from ..session import Session

__all__ = ["as_batch", "as_session"]


def _ours(obj: Any, cls: type, names: tuple[str, ...], rebuild: Callable[..., Any]) -> Any:
    """``obj`` when it is a ``cls`` already, else ``rebuild`` called with the ``names`` it
    carries (each a non-empty string, or TypeError)."""
    if isinstance(obj, cls):
        return obj
    values = {n: getattr(obj, n, None) for n in names}
    if not all(isinstance(v, str) and v for v in values.values()):
        raise TypeError(f"expected a {cls.__name__} (ours or infinity-core's, with "
                        f"{', '.join(names[:-1])} and {names[-1]}), got {type(obj).__name__}")
    return rebuild(**values)


def as_session(sesh: Any) -> Session:
    """Our Session for ``sesh``: ours as it is, or one for the same token, generator and
    server as an infinity-core Session."""
    return _ours(sesh, Session, ("token", "generator", "server"), Session)


def as_batch(batch: Any) -> Batch:
    """Our Batch for ``batch``: ours as it is, or the same batch fetched again for an
    infinity-core Batch (which carries its token, server and id)."""
    return _ours(batch, Batch, ("token", "server", "batch_id"), Session.for_batch)
