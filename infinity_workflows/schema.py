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
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import SchemaError

__all__ = ["PARAM_TYPES", "Param", "Schema", "Violation"]

PARAM_TYPES = ("int", "float", "str", "bool", "uuid")


class Violation(NamedTuple):
    """One broken rule: which parameter, which rule, and a sentence a person can act on."""

    param: str
    rule: str  # unknown_parameter | type | not_finite | min | max | choices
    message: str


class _NotOfType(ValueError):
    """A value the parameter's type cannot take; the message says why."""


def _is_numpy_bool(value: Any) -> bool:
    # A NumPy bool exists only once NumPy is imported, so this module need not import it.
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.bool_)


def _not_a_number(value: Any) -> bool:
    """bool (and NumPy's) is an int to Python, never to a parameter; else any real number."""
    return type(value) is bool or _is_numpy_bool(value) or not isinstance(value, numbers.Real)


# Each cast tries the exact plain Python type first (what JSON and the samplers give), then
# the general rule for NumPy scalars, other numeric types and subclasses.
def _as_int(value: Any) -> int:
    # A float-typed whole number (``2.0``, what NumPy arithmetic and JSON often give) is the
    # int it equals; a fraction is refused.
    kind = type(value)
    if kind is int:
        return value
    if kind is not float:
        if _not_a_number(value):
            raise _NotOfType(f"is a {kind.__name__}")
        if isinstance(value, numbers.Integral):
            return int(value)
        value = float(value)
    if not value.is_integer():
        raise _NotOfType("is not a whole number")
    return int(value)


def _as_float(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value
    if kind is not int and _not_a_number(value):
        raise _NotOfType(f"is a {kind.__name__}")
    try:
        return float(value)
    except OverflowError:  # an integer past float's range (10**400): not a finite float
        return math.inf


def _as_str(value: Any) -> str:
    if type(value) is str:
        return value
    if not isinstance(value, str):
        raise _NotOfType(f"is a {type(value).__name__}")
    # The text itself: str() of a str-mixin Enum member is its name ('Room.A'), but JSON
    # sends its value, so the value is what is checked (np.str_ -> str likewise).
    return str.__str__(value)


def _as_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if not _is_numpy_bool(value):
        raise _NotOfType(f"is a {type(value).__name__}")
    return bool(value)


def _as_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise _NotOfType(f"is a {type(value).__name__}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
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
        """Return the first rule ``value`` breaks, or None when it is allowed. The message
        (with the value shown) is built only for a value that breaks a rule."""
        if value is None:
            if self.nullable:
                return None
            return Violation(self.name, "type", f"{self.name}: null is not allowed; expected "
                             f"{self.allowed()}")
        try:
            cast = _CAST[self.type](value)
        except _NotOfType as exc:
            return Violation(self.name, "type",
                             f"{self.name}: {_shown(value)} {exc}, expected {self.allowed()}")
        if self.type == "float" and not math.isfinite(cast):
            return Violation(self.name, "not_finite",
                             f"{self.name}: {_shown(value)} is not a finite number a float "
                             f"can hold; expected {self.allowed()}")
        if self.choices is not None and cast not in self.choices:
            return Violation(self.name, "choices",
                             f"{self.name}: {_shown(cast)} is not allowed; expected "
                             f"{self.allowed()}")
        if self.min is not None and cast < self.min:
            return Violation(self.name, "min", f"{self.name}: {_shown(cast)} is below the minimum "
                             f"{self.min}; expected {self.allowed()}")
        if self.max is not None and cast > self.max:
            return Violation(self.name, "max", f"{self.name}: {_shown(cast)} is above the maximum "
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


# A plain value that passes its rule needs no cast and no message: Schema.violations accepts
# it with the rule below (exact type, choices, range) and sends everything else, NumPy scalars
# and whole floats included, to Param.check. A rule accepts only what Param.check accepts.
_PLAIN_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}
_LARGEST_FLOAT = sys.float_info.max
_FastRule = tuple[type, float | None, float | None, frozenset[Any] | None]


def _fast_rule(p: Param) -> _FastRule | None:
    """(exact type, low, high, choices) for ``p``'s plain values, or None when every value
    takes the full check (a ``uuid``; unhashable choices; a range on a str or bool)."""
    kind = _PLAIN_TYPES.get(p.type)
    if kind is None:
        return (type(None), None, None, None) if p.nullable else None
    try:
        choices = None if p.choices is None else frozenset(p.choices)
    except TypeError:
        return None
    if kind is str or kind is bool:
        return None if p.min is not None or p.max is not None else (kind, None, None, choices)
    low = -math.inf if p.min is None else p.min
    high = math.inf if p.max is None else p.max
    if kind is float:  # finite bounds, so that inf and nan fail the range test
        low, high = max(low, -_LARGEST_FLOAT), min(high, _LARGEST_FLOAT)
    return kind, low, high, choices


class Schema:
    """An ordered collection of :class:`Param` with validation and defaults."""

    def __init__(self, params: Iterable[Param]) -> None:
        self.params: tuple[Param, ...] = tuple(params)
        self.by_name: dict[str, Param] = {p.name: p for p in self.params}
        self._fast: dict[str, _FastRule] = {
            p.name: rule for p in self.params if (rule := _fast_rule(p)) is not None}
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
        if type(values) is not dict and not isinstance(values, Mapping):
            return [Violation("", "type", f"job parameters must be a mapping of name to value, "
                              f"not {type(values).__name__}")]
        found: list[Violation] = []
        fast = self._fast.get
        by_name = self.by_name
        for name, value in values.items():
            rule = fast(name)
            if rule is not None:
                kind, low, high, choices = rule
                if type(value) is kind and (choices is None or value in choices) and (
                        low is None or low <= value <= high):
                    continue
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
