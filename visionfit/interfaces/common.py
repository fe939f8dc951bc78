"""``is_batch_exist``, as Infinity's Download template calls it."""

from __future__ import annotations

from infinity_workflows.errors import NotFoundError, ValidationError
from infinity_workflows.session import Session

__all__ = ["is_batch_exist"]


def is_batch_exist(batch_id: str, token: str | None, generator: str, server: str) -> bool:
    """Whether ``token`` can see batch ``batch_id`` on ``server``. False for an id that is
    not a UUID or that the server does not know for this token; other failures (server
    unreachable, token refused, unknown generator) raise, so they are not mistaken for a
    wrong id."""
    try:
        Session(token=token, generator=generator, server=server).batch_from_api(batch_id)
    except (NotFoundError, ValidationError):
        return False
    return True
