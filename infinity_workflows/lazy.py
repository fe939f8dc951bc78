"""Names a package exports but imports only when first asked for (PEP 562).

A package ``__init__`` that re-exports its modules' names makes everyone who imports any
part of it pay for all of it. With :func:`lazy_exports` the package lists where each name
lives and imports that module on the first attribute lookup, then keeps the value as a plain
attribute, so start-up costs only what a call needs (see ``tests/test_import_contract.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each name to
    the module (relative, like ``".session"``) that defines it; ``namespace`` is the
    package's ``globals()``, where each value is kept once imported."""

    def __getattr__(name: str) -> Any:
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
