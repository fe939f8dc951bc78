"""Objects from Infinity's own client (infinity-core), turned into ours.

People coming from Infinity's toolkit hold infinity-core ``Session`` and ``Batch`` objects
(plain data: ``token``, ``generator``, ``server``, ``batch_id``). These functions accept
them wherever ours are expected: an object that is already ours passes through unchanged,
anything else is fetched again from its server with the data it carries. Nothing is
implemented twice: the result is an ordinary :class:`Session` or :class:`Batch`. (The sampler
takes infinity-core's Session as it is: :func:`infinity_workflows.sampling.schema_of`.)
"""

from __future__ import annotations

from typing import Any

from .batch import Batch
from .session import Session

__all__ = ["as_batch", "as_session"]


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
