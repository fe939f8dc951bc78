"""The local API server: ``create_app(Settings(...))`` builds it; ``infinity-workflows serve``
runs it. See :mod:`.routers` for the REST API and the web pages (the portal).

The two names are imported on first use, so that worker processes and ``token create``
(which need only :mod:`.executors` or :mod:`.store`) do not load the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

__all__ = ["Settings", "create_app"]

if TYPE_CHECKING:
    from .app import create_app
    from .config import Settings


__getattr__, __dir__ = lazy_exports(__name__, {"Settings": ".config", "create_app": ".app"},
                                    globals())
