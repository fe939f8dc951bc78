"""The core knows no generator: sampling declarations come from the plug-in, found by name."""

from __future__ import annotations

import ast
import random

import pytest

from infinity_workflows.sampling import distribution_table, sample_input, sample_inputs
from infinity_workflows.schema import Schema
from tests.conftest import clear_generator_caches
from tests.support.module_graph import imports, modules
from tests.support.tiny import TinyGenerator


class Named:
    """A session as the sampler sees one: a schema (here rebuilt, as from the API) and the
    name of the generator it belongs to."""

    def __init__(self, schema: Schema, generator: str) -> None:
        self.schema = Schema.from_api(schema.to_api())
        self.generator = generator


def test_a_session_is_sampled_with_its_generators_declarations(tiny_installed) -> None:
    sesh = Named(TinyGenerator.schema, "tiny-v1")
    r = random.Random(0)
    jobs = [sample_input(sesh, rng=r) for _ in range(400)] + sample_inputs(sesh, 400, rng=1)
    assert {j["frames"] for j in jobs} == {2, 3, 4}  # the table, not the schema's 1..1000
    assert {j["scale"] for j in jobs} == {0.5, 2.0}
    assert {j["fail"] for j in jobs} == {j["crash"] for j in jobs} == {False}
    assert {j["color"] for j in jobs} == {"red", "green", "blue"}  # left to the schema
    # A declared category stands for its variants; the schema's choices are unchanged.
    assert {sample_input(sesh, rng=r, color="cool")["color"] for _ in range(100)} == \
        {"green", "blue"}
    rows = distribution_table(sesh, color="warm").set_index("parameter")
    assert rows.loc["frames", "source"] == "table"
    assert rows.loc["color", "draw"] == "'warm': one of red"
    assert rows.loc["flag", "source"] == "schema"


def test_an_unknown_generator_is_sampled_from_its_schema_alone() -> None:
    clear_generator_caches()
    sesh = Named(TinyGenerator.schema, "tiny-v1")  # the server's, not installed here
    frames = {j["frames"] for j in sample_inputs(sesh, 3000, rng=2)}
    assert min(frames) < 50 and max(frames) > 950
    with pytest.raises(ValueError, match="'cool' is not allowed"):
        sample_input(sesh, color="cool")


def test_visionfit_declares_its_table_next_to_its_schema() -> None:
    from visionfit.generator import VisionFitGenerator

    # Found through the package's entry point, by name or by its own schema.
    for source in (VisionFitGenerator.schema,
                   Named(VisionFitGenerator.schema, VisionFitGenerator.name)):
        distances = [j["camera_distance"] for j in sample_inputs(source, 2000, rng=3)]
        assert 2.5 <= min(distances) < 2.6 and 4.9 < max(distances) <= 5.0
    assert "BURPEE" in VisionFitGenerator.categories["exercise"]
    assert "job_params = [sample_input(sesh" in \
        VisionFitGenerator.notebook_snippets["submit"].cells


def test_the_core_imports_no_generator() -> None:
    for name, path in modules().items():
        if name.startswith("infinity_workflows"):
            offenders = {m for m in imports(path)
                         if m.startswith("visionfit")}
            assert not offenders, f"{name} imports {offenders}"


def test_no_two_modules_import_each_other() -> None:
    known = modules()
    edges = {name: {m for m in imports(path) if m in known and m != name}
             for name, path in known.items()}
    circles = sorted((a, b) for a, targets in edges.items() for b in targets
                     if a < b and a in edges.get(b, ())
                     # package __init__ re-exporting its own modules is not a circle
                     and not b.startswith(a + ".") and not a.startswith(b + "."))
    assert circles == []


# Python's own errors a client module may still raise: a wrong argument type is a
# programming mistake, not something a user meets.
# Python's own for a wrong call, as errors.py says; IndexError: a frame index out of range,
# as for any sequence; AttributeError: a name a module does not have, which a lazy module
# ``__getattr__`` must raise (it is how ``hasattr`` and ``from X import Y`` learn of a miss).
_PROGRAMMING_ERRORS = {"TypeError", "NotImplementedError", "AssertionError", "IndexError",
                       "AttributeError"}


def test_every_error_a_user_can_meet_is_an_infinity_error() -> None:
    import builtins

    builtin_errors = {n for n, v in vars(builtins).items()
                      if isinstance(v, type) and issubclass(v, BaseException)}
    offenders = []
    for name, path in modules().items():
        user_facing = name.startswith(("infinity_workflows", "visionfit.utils",
                                       "visionfit.interfaces"))
        if not user_facing or ".server" in name:
            continue  # the server answers errors as HTTP statuses, not exceptions
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id in builtin_errors - _PROGRAMMING_ERRORS:
                offenders.append(f"{name}:{node.lineno} raises {node.exc.func.id}")
    assert offenders == []
