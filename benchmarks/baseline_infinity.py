"""The baseline of the sampling benchmark: Infinity's own VisionFit sampler and infinity-core's
client-side validation, re-expressed so both can run here beside ours on the same schema.

Neither is installed or vendored in this project; this module is a re-expression written for
the benchmark (no code copied), from reading their public sources:

* the sampler: ``sample_input`` of ``visionfit/utils/sampling.py`` in Infinity's
  ``toinfinityai/infinity-workflows`` repository (commit d2b023e). Per call it read every
  bound it needed from ``sesh.parameter_info`` (twice for a range, once for a choice list,
  42 reads for a whole job), rebuilt the exercise-category map (one ``str.split`` and one
  ``re.split`` per exercise), then drew each parameter with the ``random`` module:
  ``choice`` over the choices, ``randint``/``uniform`` over fixed ranges narrower than the
  schema's, a normal clipped to the schema for height and weight, a fair coin for four
  switches, one square size for width and height; ``state`` only when given.
* the validation: ``Session._validate_params`` / ``validate_job_params`` of infinity-core as
  bundled with those workflows (``infinity-core/infinity_core/session.py``, commit a60ab7d).
  Per job it rebuilt ``parameter_info`` (a property, not cached: one dict per parameter of
  the generator document), took the set of its names, and per value: ``isinstance`` against
  allowed Python types for ``str``/``bool``/``uuid`` (``uuid`` allows ``None``), a cast with
  ``int()``/``float()`` for numbers (a ``ValueError`` is a casting violation), then the
  ``min``/``max``/``choices`` found in ``options``; the error text, grouped by kind, was built
  only when something broke. ``validate_job_params`` is that check once per job of a list.

``parameter_info`` reads the same generator document our server sends (``GET
api/jobs/{name}/``), built here from a :class:`~infinity_workflows.schema.Schema`.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from infinity_workflows.schema import Schema

__all__ = ["CoreSession", "original_sample_input"]

_ALLOWED_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "bool": (bool,), "uuid": (str, type(None))}
_CASTS: dict[str, type] = {"int": int, "float": float}


class CoreSession:
    """What infinity-core's ``Session`` held and did that sampling and validation touch:
    the generator document, ``parameter_info`` rebuilt from it on every read, and
    ``validate_job_params``. No network: the document is given."""

    def __init__(self, generator_info: Mapping[str, Any]) -> None:
        self._generator_info = dict(generator_info)

    @classmethod
    def for_schema(cls, name: str, schema: Schema) -> CoreSession:
        return cls({"name": name, "params": schema.to_api(), "options": {"preview": True}})

    @property
    def parameter_info(self) -> dict[str, dict[str, Any]]:
        info: dict[str, dict[str, Any]] = {}
        for doc in self._generator_info["params"]:
            info[doc["name"]] = {"type": doc.get("type"),
                                 "default_value": doc.get("default_value"),
                                 "options": doc.get("options")}
        return info

    def validate_job_params(self, job_params: Sequence[Mapping[str, Any]]) -> list[str | None]:
        return [self._validate_one(job) for job in job_params]

    def _validate_one(self, job: Mapping[str, Any]) -> str | None:
        info = self.parameter_info
        known = set(info.keys())
        unknown: set[str] = set()
        wrong_type: list[tuple[str, type, tuple[type, ...]]] = []
        not_castable: list[tuple[str, type]] = []
        broken: list[tuple[str, str, Any, Any]] = []
        for name, value in job.items():
            if name not in known:
                unknown.add(name)
                continue
            kind = info[name]["type"]
            allowed = _ALLOWED_TYPES.get(kind)
            if allowed is not None and not any([isinstance(value, t) for t in allowed]):
                wrong_type.append((name, type(value), allowed))
                continue
            cast = _CASTS.get(kind)
            if cast is not None:
                try:
                    value = cast(value)
                except ValueError:
                    not_castable.append((name, cast))
                    continue
            options = info[name].get("options")
            if options is None:
                continue
            if "min" in options and value < options["min"]:
                broken.append((name, "min", options["min"], value))
            if "max" in options and value > options["max"]:
                broken.append((name, "max", options["max"], value))
            if "choices" in options and value not in options["choices"]:
                broken.append((name, "choices", options["choices"], value))
        if not any([unknown, wrong_type, not_castable, broken]):
            return None
        parts = []
        if unknown:
            parts.append("Unsupported parameters:\n" + ", ".join(f"`{n}`" for n in unknown))
        if wrong_type:
            parts.append("Type violations:\n" + "".join(
                f"Input parameter `{n}` expected one of compatible type(s) `{e}`, got `{a}`\n"
                for n, a, e in wrong_type))
        if not_castable:
            parts.append("Type casting violations:\n" + "".join(
                f"Input parameter `{n}` could not be cast as type `{c}` as expected\n"
                for n, c in not_castable))
        if broken:
            parts.append("Constraint violations:\n" + "".join(
                f"Input parameter `{n}` violated constraint `{r}` ({bound}) with value {v}\n"
                for n, r, bound, v in broken))
        return "".join("\n\n" + p for p in parts)


def _category(exercise: str) -> str:
    """UPPERCUT-LEFT -> UPPERCUT, BURPEE_02 -> BURPEE: the movement an exercise belongs to."""
    return re.split(r"_\d+", exercise.split("-")[0])[0]


def _bounds(sesh: CoreSession, name: str) -> tuple[Any, Any]:
    # Two reads of the property, as the original made for every ranged parameter.
    return (sesh.parameter_info[name]["options"]["min"],
            sesh.parameter_info[name]["options"]["max"])


def _choices(sesh: CoreSession, name: str) -> list[Any]:
    return sesh.parameter_info[name]["options"]["choices"]


def _clip(value: float, lo: float, hi: float) -> float:
    return lo if value < lo else hi if value > hi else value


def _ranged(sesh: CoreSession, name: str, given: Any, draw: Any) -> Any:
    lo, hi = _bounds(sesh, name)
    if given is None:
        return draw(lo, hi)
    if not lo <= given <= hi:
        raise ValueError(f"`{name}` ({given}) must be in range [{lo}, {hi}]")
    return given


def _chosen(sesh: CoreSession, name: str, given: Any, draw: Any) -> Any:
    options = _choices(sesh, name)
    if given is None:
        return draw(options)
    if given not in options:
        raise ValueError(f"`{name}` ({given}) not in supported list ({options})")
    return given


def _switch(name: str, given: Any, draw: Any) -> bool:
    if given is None:
        return draw()
    if given not in (True, False):
        raise ValueError(f"`{name}` ({given}) must be boolean `True` or `False`")
    return given


def original_sample_input(sesh: CoreSession, rng: random.Random | None = None,
                          **given: Any) -> dict[str, Any]:
    """One VisionFit job drawn the way Infinity's toolkit drew it (see the module docstring);
    ``given`` values are range-checked and kept. ``rng`` defaults to the ``random`` module's
    shared generator, which the original used."""
    r: Any = random if rng is None else rng
    g = given.get
    job: dict[str, Any] = {}
    job["scene"] = _chosen(sesh, "scene", g("scene"), lambda o: str(r.choice(o)))

    exercises = _choices(sesh, "exercise")
    by_category: defaultdict[str, list[str]] = defaultdict(list)
    for e in exercises:
        by_category[_category(e)].append(e)
    exercise = g("exercise")
    if exercise is None:
        exercise = str(r.choice(exercises))
    elif exercise in by_category:
        exercise = str(r.choice(by_category[exercise]))
    elif exercise not in exercises:
        raise ValueError(f"`exercise` ({exercise}) not in supported list "
                         f"({sorted([*exercises, *by_category])})")
    job["exercise"] = exercise

    gender = job["gender"] = _chosen(sesh, "gender", g("gender"), lambda o: str(r.choice(o)))
    job["num_reps"] = _ranged(sesh, "num_reps", g("num_reps"), lambda lo, hi: r.randint(1, 10))
    job["rel_baseline_speed"] = _ranged(sesh, "rel_baseline_speed", g("rel_baseline_speed"),
                                        lambda lo, hi: float(r.uniform(0.8, 1.25)))
    job["max_rel_speed_change"] = _ranged(sesh, "max_rel_speed_change",
                                          g("max_rel_speed_change"),
                                          lambda lo, hi: float(r.uniform(0.0, 0.2)))
    job["kinematic_noise_factor"] = _ranged(sesh, "kinematic_noise_factor",
                                            g("kinematic_noise_factor"), lambda lo, hi: 1.0)
    job["camera_distance"] = _ranged(sesh, "camera_distance", g("camera_distance"),
                                     lambda lo, hi: float(r.uniform(2.5, 5.0)))
    job["camera_height"] = _ranged(sesh, "camera_height", g("camera_height"),
                                   lambda lo, hi: float(r.uniform(0.1, 2.75)))
    job["avatar_identity"] = _ranged(sesh, "avatar_identity", g("avatar_identity"),
                                     lambda lo, hi: int(r.randint(lo, hi)))
    job["randomize_skin_tone"] = _switch("randomize_skin_tone", g("randomize_skin_tone"),
                                         lambda: False)
    for name in ("relative_height", "relative_weight"):
        job[name] = _ranged(sesh, name, g(name),
                            lambda lo, hi: float(_clip(r.gauss(0.0, 1.0), lo, hi)))
    job["relative_camera_yaw_deg"] = _ranged(sesh, "relative_camera_yaw_deg",
                                             g("relative_camera_yaw_deg"),
                                             lambda lo, hi: float(r.uniform(-15.0, 15.0)))
    job["relative_camera_pitch_deg"] = _ranged(sesh, "relative_camera_pitch_deg",
                                               g("relative_camera_pitch_deg"),
                                               lambda lo, hi: float(r.uniform(-10.0, 10.0)))
    job["lighting_power"] = _ranged(sesh, "lighting_power", g("lighting_power"),
                                    lambda lo, hi: float(r.uniform(10.0, 1000.0)))
    job["relative_avatar_angle_deg"] = _ranged(sesh, "relative_avatar_angle_deg",
                                               g("relative_avatar_angle_deg"),
                                               lambda lo, hi: float(r.uniform(-180.0, 180.0)))
    job["frame_rate"] = _chosen(sesh, "frame_rate", g("frame_rate"), lambda o: int(r.choice(o)))

    width, height = g("image_width"), g("image_height")
    w_lo, w_hi = _bounds(sesh, "image_width")
    h_lo, h_hi = _bounds(sesh, "image_height")
    if width is None and height is None:
        width = height = int(r.choice([256, 512]))
    for name, value, lo, hi in (("image_width", width, w_lo, w_hi),
                                ("image_height", height, h_lo, h_hi)):
        if value is not None and not lo <= value <= hi:
            raise ValueError(f"`{name}` ({value}) must be in range [{lo}, {hi}]")
    job["image_width"] = width if width is not None else height
    job["image_height"] = height if height is not None else width

    for name in ("inter_rep_delay_avg", "inter_rep_delay_var"):
        job[name] = _ranged(sesh, name, g(name), lambda lo, hi: float(r.uniform(0.0, 2.0)))
    for name in ("add_pauses", "add_wall_art"):
        job[name] = _switch(name, g(name), lambda: r.choice([True, False]))
    job["wall_art_type"] = _chosen(sesh, "wall_art_type", g("wall_art_type"),
                                   lambda o: str(r.choice(o)))

    outfit_lo = sesh.parameter_info["outfit"]["options"]["min"]
    outfit_hi = 4  # the original's fixed top outfit, for either gender
    outfit = g("outfit")
    if outfit is None:
        outfit = int(r.randint(outfit_lo, outfit_hi))
    elif not outfit_lo <= outfit <= outfit_hi:
        raise ValueError(f"`outfit` ({outfit}, {gender}) must be in range "
                         f"[{outfit_lo}, {outfit_hi}]")
    job["outfit"] = outfit

    for name in ("hide_shoes", "add_socks"):
        job[name] = _switch(name, g(name), lambda: r.choice([True, False]))
    job["allowable_occlusion"] = _ranged(sesh, "allowable_occlusion", g("allowable_occlusion"),
                                         lambda lo, hi: float(r.uniform(0.0, 50.0)))
    job["enable_sensor_noise"] = _switch("enable_sensor_noise", g("enable_sensor_noise"),
                                         lambda: True)
    if g("state") is not None:
        job["state"] = g("state")
    return job
