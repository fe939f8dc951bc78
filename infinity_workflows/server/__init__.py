"""The local API server: ``create_app(Settings(...))`` builds it; ``infinity-workflows serve``
runs it. See :mod:`.api_routes` for the REST API and :mod:`.portal` for the web pages."""

from .app import create_app
from .context import Settings

__all__ = ["Settings", "create_app"]
