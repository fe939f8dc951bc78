"""Keep jsonschema's IRI grammar off the path that renders a record.

``nbformat`` validates notebooks with ``jsonschema``, and ``jsonschema`` imports
``rfc3987_syntax`` (when installed, as JupyterLab's ``jupyter-events`` installs it) only to
offer an ``iri`` format check. That package builds its Earley parser at import: about 2 s on
this project's machine, more than all the rest of rendering a record. Notebook validation
never checks formats, so the parser is never used there.

:func:`defer_iri_grammar` puts a stand-in for ``rfc3987_syntax`` in ``sys.modules`` before
``jsonschema`` is first imported. The stand-in offers the one name ``jsonschema`` takes from
the package, ``is_valid_syntax``, and loads the real package on the first call (or on any
other attribute, or a submodule import, through its ``__path__``), so anyone who does check
an IRI gets the real answer, once, at the moment they ask for it. This is the lazy import
the upstream project was asked for; the stand-in steps aside by itself when the package is
missing, already imported, or ``jsonschema`` is already loaded (its cost is then paid).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["GRAMMAR_MODULE", "defer_iri_grammar"]

GRAMMAR_MODULE = "rfc3987_syntax"


class _DeferredGrammar(ModuleType):
    """Stands in for ``rfc3987_syntax`` until something uses it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_load(), name)


def _load() -> ModuleType:
    """The real package, imported now if only the stand-in is in place."""
    current = sys.modules.get(GRAMMAR_MODULE)
    if not isinstance(current, _DeferredGrammar):
        return current if current is not None else importlib.import_module(GRAMMAR_MODULE)
    spec = current.__spec__
    real = importlib.util.module_from_spec(spec)
    sys.modules[GRAMMAR_MODULE] = real
    try:
        spec.loader.exec_module(real)
    except BaseException:
        sys.modules[GRAMMAR_MODULE] = current
        raise
    return real


def is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, loading the grammar on the first call."""
    return _load().is_valid_syntax(term, value)


def defer_iri_grammar() -> None:
    """Put the stand-in in place, unless there is nothing to defer."""
    if GRAMMAR_MODULE in sys.modules or "jsonschema" in sys.modules:
        return
    spec = importlib.util.find_spec(GRAMMAR_MODULE)  # locates; runs nothing
    if spec is None or spec.loader is None:
        return
    stand_in = _DeferredGrammar(GRAMMAR_MODULE, "deferred until first use")
    stand_in.__spec__ = spec
    stand_in.__loader__ = spec.loader
    stand_in.__file__ = spec.origin
    if spec.submodule_search_locations is not None:
        stand_in.__path__ = list(spec.submodule_search_locations)
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[GRAMMAR_MODULE] = stand_in
