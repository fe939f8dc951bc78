"""A generator's parameter schema: the one description of its inputs.

The same :class:`Schema` object validates and completes job parameters on the server,
produces the ``params`` list of ``GET api/jobs/{name}/``, documents each parameter on the
portal, and (rebuilt on the client with :meth:`Schema.from_api`) checks jobs before they
are sent and bounds what the sampler draws.

Types are the API's: ``int``, ``float``, ``str``, ``bool`` and ``uuid``. A ``uuid``
parameter names an earlier job of the same token; the server reuses that job's random
seed (see :func:`infinity_workflows.generators.seed_for_job`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .errors import SchemaError, ValidationError
from .trust import parse_uuid

__all__ = ["PARAM_TYPES", "Param", "Schema", "Violation"]

PARAM_TYPES = ("int", "float", "str", "bool", "uuid")


class Violation(NamedTuple):
    """One broken rule: which parameter, which rule, and a sentence a person can act on."""

    param: str
    rule: str  # unknown_parameter | type | not_finite | min | max | choices
    message: str


class _NotOfType(ValueError):
    """A value the parameter's type cannot take; the message says why."""


def _as_int(value: Any) -> int:
    # bool is an int to Python, never to a parameter; a float-typed whole number (``2.0``,
    # what NumPy arithmetic and JSON often give) is the int it equals, a fraction is refused.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _NotOfType(f"is a {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not number.is_integer():
        raise _NotOfType("is not a whole number")
    return int(number)


def _as_float(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _NotOfType(f"is a {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an integer past float's range (10**400): not a finite float
        return math.inf


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _NotOfType(f"is a {type(value).__name__}")
    return str(value)  # np.str_ -> str


def _as_bool(value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _NotOfType(f"is a {type(value).__name__}")
    return bool(value)


def _as_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise _NotOfType(f"is a {type(value).__name__}")
    try:
        return parse_uuid(value, "value")
    except ValidationError:
        raise _NotOfType("is not a UUID") from None


# The one casting rule for every value that is validated (client, server and sampler):
# NumPy scalars count as the Python values they hold, a whole float counts as an int, and a
# JSON integer given for a float parameter becomes a float.
_CAST = {"int": _as_int, "float": _as_float, "str": _as_str, "bool": _as_bool,
         "uuid": _as_uuid}


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, allowed values and meaning."""

    name: str
    type: str
    default: Any
    description: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    # Plain types allow None only when the default is None (e.g. an optional ``state``).
    nullable: bool = field(default=False)

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise SchemaError(f"{self.name}: type {self.type!r} is not one of {PARAM_TYPES}")
        if self.choices is not None and not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is None:
            object.__setattr__(self, "nullable", True)

    # -- the API's view -------------------------------------------------------------------
    @property
    def options(self) -> dict[str, Any] | None:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        if self.min is not None or self.max is not None:
            return {"min": self.min, "max": self.max}
        return None

    def allowed(self) -> str:
        """The allowed values in words, for messages and the portal."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.min is not None and self.max is not None:
            return f"{self.type} from {self.min} to {self.max}"
        if self.min is not None:
            return f"{self.type} of at least {self.min}"
        if self.max is not None:
            return f"{self.type} of at most {self.max}"
        if self.type == "uuid":
            return "the id of an earlier job" + (" or null" if self.nullable else "")
        return f"any {self.type}"

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default_value": self.default,
            "options": self.options,
            "description": self.description,
        }

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Param:
        options = data.get("options") or {}
        choices = options.get("choices")
        return cls(
            name=data["name"],
            type=data["type"],
            default=data.get("default_value"),
            description=data.get("description") or "",
            min=options.get("min"),
            max=options.get("max"),
            choices=tuple(choices) if choices is not None else None,
        )

    # -- checking -------------------------------------------------------------------------
    def check(self, value: Any) -> Violation | None:
        """Return the first rule ``value`` breaks, or None when it is allowed."""
        if value is None:
            if self.nullable:
                return None
            return Violation(self.name, "type", f"{self.name}: null is not allowed; expected "
                             f"{self.allowed()}")
        shown = _shown(value)
        try:
            value = _CAST[self.type](value)
        except _NotOfType as exc:
            return Violation(self.name, "type",
                             f"{self.name}: {shown} {exc}, expected {self.allowed()}")
        if self.type == "float" and not math.isfinite(value):
            return Violation(self.name, "not_finite",
                             f"{self.name}: {shown} is not a finite number a float "
                             f"can hold; expected {self.allowed()}")
        if self.choices is not None and value not in self.choices:
            return Violation(self.name, "choices",
                             f"{self.name}: {_shown(value)} is not allowed; expected "
                             f"{self.allowed()}")
        if self.min is not None and value < self.min:
            return Violation(self.name, "min", f"{self.name}: {_shown(value)} is below the minimum "
                             f"{self.min}; expected {self.allowed()}")
        if self.max is not None and value > self.max:
            return Violation(self.name, "max", f"{self.name}: {_shown(value)} is above the maximum "
                             f"{self.max}; expected {self.allowed()}")
        return None

    def normalise(self, value: Any) -> Any:
        """The plain Python form of an allowed value: ``2.0`` or ``np.int64(2)`` for an int
        becomes ``2``, a JSON integer for a float becomes a float, ``np.str_`` a str."""
        return None if value is None else _CAST[self.type](value)


def _shown(value: Any) -> str:
    """A value for a message, cut short (a refused number may have thousands of digits)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 4000 \
        else f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    return text if len(text) <= 60 else text[:40] + f"... ({len(text)} characters)"


class Schema:
    """An ordered collection of :class:`Param` with validation and defaults."""

    def __init__(self, params: Iterable[Param]) -> None:
        self.params: tuple[Param, ...] = tuple(params)
        self.by_name: dict[str, Param] = {p.name: p for p in self.params}
        if len(self.by_name) != len(self.params):
            raise SchemaError("parameter names must be unique")
        for p in self.params:
            v = p.check(p.default)
            if v is not None:
                raise SchemaError(f"default of {p.name} breaks its own rule: {v.message}")

    def __iter__(self):
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> Param:
        return self.by_name[name]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def violations(self, values: Mapping[str, Any]) -> list[Violation]:
        """Every rule ``values`` breaks; an empty list when the job is valid."""
        if not isinstance(values, Mapping):
            return [Violation("", "type", f"job parameters must be a mapping of name to value, "
                              f"not {type(values).__name__}")]
        found: list[Violation] = []
        by_name = self.by_name
        for name, value in values.items():
            param = by_name.get(name)
            if param is None:
                found.append(Violation(
                    str(name), "unknown_parameter",
                    f"{name!r} is not a parameter of this generator; known parameters: "
                    + ", ".join(self.names),
                ))
                continue
            v = param.check(value)
            if v is not None:
                found.append(v)
        return found

    def validate(self, values: Mapping[str, Any]) -> str | None:
        """One message for all problems of a job, or None when it is valid."""
        found = self.violations(values)
        return "; ".join(v.message for v in found) if found else None

    def complete(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in and values normalised; call only on valid values."""
        return {p.name: p.normalise(values.get(p.name, p.default)) for p in self.params}

    def cast(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The given values in plain Python form (NumPy scalars, whole floats for ints),
        defaults not filled in; call only on valid values."""
        return {name: self.by_name[name].normalise(v) for name, v in values.items()}

    def to_api(self) -> list[dict[str, Any]]:
        return [p.to_api() for p in self.params]

    @classmethod
    def from_api(cls, params: Iterable[Mapping[str, Any]]) -> Schema:
        return cls(Param.from_api(p) for p in params)

    @classmethod
    def from_parameter_info(cls, parameter_info: Mapping[str, Mapping[str, Any]]) -> Schema:
        """From infinity-core's ``Session.parameter_info``: ``{name: {type, default_value,
        options}}``, the API's parameter documents keyed by name."""
        if not isinstance(parameter_info, Mapping) or not all(
                isinstance(v, Mapping) for v in parameter_info.values()):
            raise TypeError("parameter_info must map each parameter name to a dict with "
                            "type, default_value and options")
        return cls.from_api({**info, "name": name} for name, info in parameter_info.items())
