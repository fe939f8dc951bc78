"""The generator plug-in interface and the registry that finds generators.

A generator is an object with ``name``, ``version``, ``description``, ``schema`` (a
:class:`~infinity_workflows.schema.Schema`), ``supports_preview`` and two methods:

* ``estimate(params, is_preview) -> int``: frames the job will render (1 for a preview),
  computed without rendering;
* ``run(params, is_preview, out_dir, seed) -> None``: render the job's files into
  ``out_dir`` (an empty folder). All randomness must come from ``seed``, so that the same
  parameters and seed give the same bytes.

``params`` is always complete (defaults filled in) and valid against ``schema``. A job may
write :data:`PREVIEW_FILE`, the image the portal and the generic Download notebook show.

Next to its schema a generator declares what clients use to craft and review jobs:
``distributions`` (the sampler's table, see :mod:`infinity_workflows.sampling`),
``categories`` (names that stand for several choices) and ``notebook_snippets`` (by record
kind, ``"submit"`` / ``"download"``: the cells its notebooks start from, see
:mod:`infinity_workflows.snippets`), and ``examples``, notebooks ``init`` hands a new user.

A generator may also declare a *label summary*: ``label_statistics`` (name -> what it means)
and ``job_statistics(job_folder)``, the per-job scalar statistics of one downloaded job
folder (occlusion, visible keypoints, box size, brightness, ...). The gallery and design to a
target read labels only through these, so they work for any generator that declares them
(:func:`infinity_workflows.label_statistics.label_statistics_table` builds a batch's table).

Generators are found through the entry-point group ``infinity_workflows.generators``
(an entry point may name a class, which is instantiated, or an instance), so a third party
adds one by packaging it; ``--generator MODULE:ATTR`` on ``serve`` loads one by import path,
and ``INFINITY_WORKFLOWS_GENERATORS`` (comma-separated ``MODULE:ATTR``) names more for the
client side (:func:`installed_generators`).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigurationError
from .schema import Schema
from .snippets import NotebookSnippet

__all__ = [
    "ENTRY_POINT_GROUP",
    "EXTRA_GENERATORS_ENV",
    "PREVIEW_FILE",
    "Generator",
    "GeneratorRegistry",
    "installed_generator",
    "installed_generators",
    "load_generator",
    "seed_for_job",
]

ENTRY_POINT_GROUP = "infinity_workflows.generators"
EXTRA_GENERATORS_ENV = "INFINITY_WORKFLOWS_GENERATORS"
PREVIEW_FILE = "video_preview.png"
log = logging.getLogger(__name__)


class Generator(ABC):
    """Base class for generators; subclasses set the class attributes and both methods."""

    name: str
    version: str
    description: str
    schema: Schema
    supports_preview: bool = True
    # A ``str`` parameter with choices whose every choice the portal shows as a preview
    # (VisionFit: ``scene``), so a user can see what the choices mean. None: no gallery.
    gallery_param: str | None = None
    # Sampling declarations (types in infinity_workflows.sampling: Distributions, Categories).
    distributions: ClassVar[Mapping[Any, Any]] = {}
    categories: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # Record kind -> the cells its notebook starts from (the Submit snippet defines
    # ``job_params`` from ``sesh``, ``SEED`` and ``NUM_JOBS``; the Download one reviews
    # ``folder``).
    notebook_snippets: ClassVar[Mapping[str, NotebookSnippet]] = {}
    # "package:folder" of example notebooks that ``infinity-workflows init`` copies.
    examples: ClassVar[str | None] = None
    # The declared label summary: statistic name -> what it means, the keys
    # ``job_statistics`` returns (it may add more, e.g. one per image metric). {}: none.
    label_statistics: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def estimate(self, params: dict[str, Any], is_preview: bool) -> int:
        """Frames the job will render, exactly, without rendering."""

    @abstractmethod
    def run(self, params: dict[str, Any], is_preview: bool, out_dir: Path, seed: int) -> None:
        """Write the job's files into ``out_dir``."""

    def job_statistics(self, job_folder: Path) -> dict[str, float]:
        """Per-job scalar label statistics of one downloaded job folder (nan where a statistic
        does not apply; {} when the folder has no labels). Optional: the default declares
        none. Runs on the client, so it may import what the review helpers import."""
        return {}

    # The API's two views of a generator.
    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "options": {"preview": self.supports_preview},
        }

    def detail(self) -> dict[str, Any]:
        # Categories are published so any client's sampler and validator use the same ones.
        return {**self.summary(), "params": self.schema.to_api(),
                "categories": {name: {cat: list(variants) for cat, variants in cats.items()}
                               for name, cats in self.categories.items()},
                "label_statistics": dict(self.label_statistics)}


def seed_for_job(job_id: str) -> int:
    """The seed of a fresh job, derived from its id (63 bits, so any RNG accepts it)."""
    return uuid.UUID(job_id).int & ((1 << 63) - 1)


def _instantiate(obj: Any) -> Generator:
    return obj() if isinstance(obj, type) else obj


def load_generator(spec: str) -> Generator:
    """Load a generator from ``"package.module:attr"`` (a class or an instance)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(f"generator spec {spec!r} must look like "
                                 "'package.module:Attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"generator spec {spec!r}: cannot import {module_name} "
                                 f"({exc})") from exc
    try:
        return _instantiate(getattr(module, attr))
    except AttributeError:
        raise ConfigurationError(f"generator spec {spec!r}: {module_name} has no "
                                 f"{attr}") from None


class GeneratorRegistry:
    """Generators by name. Built from entry points plus any explicit import specs."""

    def __init__(self, generators: list[Generator] | None = None) -> None:
        self._by_name: dict[str, Generator] = {}
        for g in generators or []:
            self.register(g)

    @classmethod
    def discover(cls, extra_specs: list[str] | tuple[str, ...] = ()) -> GeneratorRegistry:
        """Every installed generator, then those named by ``extra_specs``.

        A broken entry point is logged and skipped so that one bad plug-in does not take
        the server down; a broken explicit spec raises, since the user asked for it.
        """
        registry = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                registry.register(_instantiate(ep.load()))
            except Exception:  # noqa: BLE001 - a third-party plug-in may fail in any way
                log.exception("skipping generator entry point %s", ep.value)
        for spec in extra_specs:
            registry.register(load_generator(spec))
        return registry

    def register(self, generator: Generator) -> None:
        self._by_name[generator.name] = generator

    def get(self, name: str) -> Generator | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(sorted(self._by_name.values(), key=lambda g: g.name))

    def names(self) -> list[str]:
        return sorted(self._by_name)


def _client_specs() -> list[str]:
    return [s.strip() for s in os.environ.get(EXTRA_GENERATORS_ENV, "").split(",")
            if s.strip()]


@functools.lru_cache(maxsize=1)
def installed_generators() -> GeneratorRegistry:
    """The generators installed beside this client (entry points plus the specs in
    ``INFINITY_WORKFLOWS_GENERATORS``), loaded once: where a client finds a generator's
    sampling declarations, notebook snippets and examples. A server may offer generators
    not found here; those are crafted from their schema alone."""
    return GeneratorRegistry.discover(_client_specs())


@functools.lru_cache(maxsize=64)
def installed_generator(name: str) -> Generator | None:
    """The installed generator called ``name``, loading no more plug-ins than needed: the
    ``INFINITY_WORKFLOWS_GENERATORS`` specs first, then entry points one by one (so a
    notebook for one generator does not import every other)."""
    for spec in _client_specs():
        generator = load_generator(spec)
        if generator.name == name:
            return generator
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            generator = _instantiate(ep.load())
        except Exception:  # noqa: BLE001 - a third-party plug-in may fail in any way
            log.exception("skipping generator entry point %s", ep.value)
            continue
        if generator.name == name:
            return generator
    return None
