"""The parameter schema: rules, messages, defaults, and the API round trip."""

from __future__ import annotations

import enum
import math
import uuid
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from infinity_workflows.errors import ConfigurationError
from infinity_workflows.generators import GeneratorRegistry, load_generator, seed_for_job
from infinity_workflows.schema import Param, Schema
from tests.support.tiny import TinyGenerator
from visionfit.generator import VisionFitGenerator

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


class _Size(enum.IntEnum):
    FOUR = 4


class _Colour(str, enum.Enum):
    RED = "red"


class _Text(str):
    pass


class _Quiet(enum.IntEnum):
    """An int whose repr fails: checking it must not build a message unless it is refused."""

    FIVE = 5

    def __repr__(self) -> str:
        raise AssertionError("repr of a value was built for a message")


def _probes(param: Param) -> list:
    values = [None, 0, 1, 2, 3, -1, 2.0, 2.5, 0.5, -0.0, 1e308, -1e308, math.inf, -math.inf,
              math.nan, 10**400, -(10**400), True, False, "", "red", "pink", "1",
              np.int64(2), np.int8(-1), np.float32(0.5), np.float64(2.0), np.float64(math.nan),
              np.bool_(True), np.str_("red"), _Size.FOUR, _Colour.RED, _Text("red"),
              str(uuid.UUID(int=7)), str(uuid.UUID(int=7)).upper(), [1], {"a": 1},
              Fraction(1, 2), Fraction(4, 2), Decimal("2"), param.default]
    for bound in (param.min, param.max):
        if bound is not None:
            values += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5, float(bound)]
    values += list(param.choices or ())
    return values


@pytest.mark.parametrize("schema", [SCHEMA, VisionFitGenerator.schema], ids=["tiny", "visionfit"])
def test_fast_acceptance_agrees_with_the_full_check(schema):
    """Schema.violations accepts plain valid values without casting them; for every kind of
    value (plain, NumPy, subclasses, out of range, not finite) it must say what check says."""
    for param in schema:
        for value in _probes(param):
            expected = param.check(value)
            assert schema.violations({param.name: value}) == (
                [] if expected is None else [expected]), (param.name, value)


def test_look_alike_values_keep_their_rules():
    frames, scale, color, flag = (SCHEMA[n] for n in ("frames", "scale", "color", "flag"))
    assert frames.check(True).rule == "type" and scale.check(False).rule == "type"
    assert "is a bool" in frames.check(np.bool_(True)).message
    assert "is a bool" in scale.check(np.bool_(False)).message
    assert frames.check(2.0) is None and type(frames.normalise(2.0)) is int
    assert frames.check(2.5).rule == "type"
    assert frames.check(_Size.FOUR) is None and type(frames.normalise(_Size.FOUR)) is int
    assert scale.check(np.float32(0.5)) is None and type(scale.normalise(np.float32(0.5))) is float
    assert scale.check(np.int64(2)) is None and scale.normalise(np.int64(2)) == 2.0
    assert color.check(_Text("red")) is None and type(color.normalise(_Text("red"))) is str
    # A str-mixin Enum member counts as its value, as JSON sends it (str() would give its
    # name, '_Colour.RED').
    assert color.check(_Colour.RED) is None and color.normalise(_Colour.RED) == "red"
    assert type(color.normalise(_Colour.RED)) is str
    assert flag.check(np.bool_(True)) is None and type(flag.normalise(np.bool_(True))) is bool
    too_big = scale.check(10**400)
    assert too_big.rule == "not_finite" and len(too_big.message) < 200
    assert frames.check(10**5000).message.startswith("frames: an integer of about 5000 digits")


def test_a_message_is_built_only_for_a_refused_value():
    assert SCHEMA["frames"].check(_Quiet.FIVE) is None
    assert SCHEMA.validate({"frames": _Quiet.FIVE, "scale": 2, "color": "blue"}) is None
    with pytest.raises(AssertionError, match="repr of a value"):
        SCHEMA["flag"].check(_Quiet.FIVE)  # refused: an int is no bool
