"""The parameter schema: rules, messages, defaults, and the API round trip."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

from infinity_workflows.errors import ConfigurationError
from infinity_workflows.generators import GeneratorRegistry, load_generator, seed_for_job
from infinity_workflows.schema import Param, Schema
from tests.support.tiny import TinyGenerator

SCHEMA = TinyGenerator.schema


@pytest.mark.parametrize(
    ("values", "param", "rule", "words"),
    [
        ({"frames": 0}, "frames", "min", "below the minimum 1"),
        ({"frames": 1001}, "frames", "max", "above the maximum 1000"),
        ({"frames": 2.5}, "frames", "type", "is not a whole number, expected int from 1 to 1000"),
        ({"frames": np.float64(2.5)}, "frames", "type", "is not a whole number"),
        ({"frames": np.int64(0)}, "frames", "min", "below the minimum 1"),
        ({"flag": np.int8(1)}, "flag", "type", "is a int8, expected any bool"),
        ({"color": np.str_("pink")}, "color", "choices", "one of 'red'"),
        ({"frames": True}, "frames", "type", "is a bool"),
        ({"color": "pink"}, "color", "choices", "one of 'red', 'green', 'blue'"),
        ({"scale": math.nan}, "scale", "not_finite", "not a finite number"),
        ({"scale": math.inf}, "scale", "not_finite", "not a finite number"),
        ({"scale": "1"}, "scale", "type", "is a str"),
        ({"flag": 1}, "flag", "type", "is a int, expected any bool"),
        ({"state": "not-a-uuid"}, "state", "type", "id of an earlier job"),
        ({"frames": None}, "frames", "type", "null is not allowed"),
        ({"bogus": 1}, "bogus", "unknown_parameter", "known parameters: frames"),
    ],
)
def test_each_rule_names_parameter_rule_and_value(values, param, rule, words):
    (violation,) = SCHEMA.violations(values)
    assert violation.param == param
    assert violation.rule == rule
    assert words in violation.message
    assert violation.message.startswith(f"{param}:") or rule == "unknown_parameter"


def test_valid_values_pass_and_every_problem_is_reported():
    assert SCHEMA.violations({"frames": 5, "scale": 3, "state": str(uuid.uuid4())}) == []
    assert SCHEMA.validate({"state": None}) is None
    message = SCHEMA.validate({"frames": 0, "color": "pink"})
    assert "frames" in message and "color" in message
    assert SCHEMA.violations([1, 2])[0].rule == "type"


def test_numpy_scalars_and_whole_floats_are_the_values_they_hold():
    """infinity-core's casting rule: templates give np.random.choice(...) (np.str_),
    int(np.random.uniform(...)) or arithmetic results such as 2.0 for an int parameter."""
    given = {"frames": np.int64(4), "scale": np.float32(0.5), "color": np.str_("blue"),
             "flag": np.bool_(True)}
    assert SCHEMA.violations(given) == []
    assert SCHEMA.violations({"frames": 2.0, "scale": np.int32(2)}) == []
    cast = SCHEMA.cast({**given, "frames": 4.0})
    assert cast == {"frames": 4, "scale": 0.5, "color": "blue", "flag": True}
    assert [type(v) for v in cast.values()] == [int, float, str, bool]
    done = SCHEMA.complete(given)
    assert type(done["frames"]) is int and type(done["color"]) is str


def test_complete_fills_defaults_and_normalises():
    done = SCHEMA.complete({"scale": 2, "state": str(uuid.UUID(int=5)).upper()})
    assert list(done) == SCHEMA.names
    assert done["scale"] == 2.0 and isinstance(done["scale"], float)
    assert done["frames"] == 3 and done["color"] == "red"
    assert done["state"] == str(uuid.UUID(int=5))


def test_api_round_trip_keeps_every_rule():
    api = SCHEMA.to_api()
    assert api[0] == {"name": "frames", "type": "int", "default_value": 3,
                      "options": {"min": 1, "max": 1000},
                      "description": "Frames a video job renders."}
    assert api[1]["options"] == {"choices": ["red", "green", "blue"]}
    assert api[3]["options"] is None
    rebuilt = Schema.from_api(api)
    assert rebuilt.to_api() == api
    for values in ({"frames": 0}, {"color": "pink"}, {"state": None}, {"scale": 10.5}):
        assert rebuilt.violations(values) == SCHEMA.violations(values)


def test_schema_refuses_bad_declarations():
    with pytest.raises(ValueError, match="type 'list'"):
        Param("x", "list", [])
    with pytest.raises(ValueError, match="unique"):
        Schema([Param("x", "int", 1), Param("x", "int", 2)])
    with pytest.raises(ValueError, match="default of x"):
        Schema([Param("x", "int", 0, min=1, max=2)])


def test_registry_loads_specs_and_entry_points():
    registry = GeneratorRegistry.discover(["tests.support.tiny:TinyGenerator"])
    assert "tiny-v1" in registry
    assert registry.get("tiny-v1").detail()["params"] == SCHEMA.to_api()
    assert registry.get("tiny-v1").summary()["options"] == {"preview": True}
    with pytest.raises(ConfigurationError, match="package.module:Attribute"):
        load_generator("no_colon_here")
    with pytest.raises(ConfigurationError, match="cannot import no_such_module_xyz"):
        load_generator("no_such_module_xyz:Gen")
    with pytest.raises(ConfigurationError, match="tests.support.tiny has no Nope"):
        load_generator("tests.support.tiny:Nope")


def test_seed_is_stable_and_fits_63_bits():
    job = str(uuid.uuid4())
    assert seed_for_job(job) == seed_for_job(job)
    assert 0 <= seed_for_job(job) < 2**63
