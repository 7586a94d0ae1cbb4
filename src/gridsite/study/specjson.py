"""A resolved study (:class:`~gridsite.spec.StudySpec`) as plain JSON values, and back.

The run manifest stores :func:`spec_to_json` under ``config``; :func:`spec_from_json` rebuilds
the very same ``StudySpec`` from it, so that ``gridsite rerun`` computes what the first run
computed. The JSON form is the dataclasses' fields by name: tuples become lists, paths strings,
and non-finite floats the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (JSON has no
such numbers, and a NaN score means "no data", not "unset").
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Literal, Union

from gridsite.errors import ConfigError
from gridsite.spec import StudySpec

__all__ = ["spec_from_json", "spec_to_json"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_to_json(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float):
        return _float_to_json(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"study spec value {value!r} of type {type(value).__name__} has no JSON form")


def spec_to_json(spec: StudySpec) -> dict[str, Any]:
    """Return ``spec`` as JSON values (see the module docstring).

    Examples
    --------
    >>> from gridsite.spec import CampusSpec
    >>> _to_json(CampusSpec(campus_mw=math.inf))
    {'campus_mw': 'Infinity', 'campus_area_ha': 100.0}
    """
    out: dict[str, Any] = _to_json(spec)
    return out


class _MismatchError(Exception):
    """A JSON value does not fit the field's type (internal: turned into a ConfigError)."""


def _from_json(tp: Any, value: Any, where: str) -> Any:
    """Convert ``value`` to the type ``tp`` of a spec field, or raise :class:`_MismatchError`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        if value is None:
            if type(None) in args:
                return None
            raise _MismatchError(f"{where}: null where a value is required")
        # Exact JSON types first: a string stays a string in ``str | float``.
        options = sorted((a for a in args if a is not type(None)), key=lambda a: a is not str)
        problems = []
        for option in options:
            try:
                return _from_json(option, value, where)
            except _MismatchError as exc:
                problems.append(str(exc))
        raise _MismatchError(problems[-1])
    if origin is Literal:
        if value in args:
            return value
        raise _MismatchError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
    if origin is tuple:
        if not isinstance(value, list):
            raise _MismatchError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise _MismatchError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(
            _from_json(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise _MismatchError(f"{where}: expected an object, got {value!r}")
        return {str(k): _from_json(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_from_json(tp, value, where)
    if tp is Path:
        if isinstance(value, str):
            return Path(value)
    elif tp is float:
        if isinstance(value, str) and value in _NONFINITE:
            return _NONFINITE[value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp in (str, bool):
        if isinstance(value, tp):
            return value
    elif tp is Any:
        return value
    raise _MismatchError(f"{where}: {value!r} is not a valid {getattr(tp, '__name__', tp)}")


def _dataclass_from_json(cls: type[Any], value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise _MismatchError(f"{where}: expected an object, got {value!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _MismatchError(
            f"{where}: unknown key(s) {', '.join(unknown)}; the manifest was written by another "
            "version of gridsite: install that version to rerun it"
        )
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _from_json(hints[name], value[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _MismatchError(f"{where}.{name}: required key is missing")
    return cls(**kwargs)


def spec_from_json(config: Mapping[str, Any], *, source: str) -> StudySpec:
    """Rebuild a :class:`~gridsite.spec.StudySpec` from :func:`spec_to_json`'s output.

    Parameters
    ----------
    config
        The JSON form of a study, e.g. a manifest's ``config``. Keys a StudySpec lacks are an
        error; keys of fields with defaults may be missing (they take the default).
    source
        Where ``config`` came from (a manifest path), named in error messages.

    Returns
    -------
    StudySpec
        Equal to the spec that was converted (paths, tuples, NaN and infinities included).

    Raises
    ------
    ConfigError
        Naming the dotted key whose value does not fit the StudySpec.
    """
    try:
        spec: StudySpec = _dataclass_from_json(StudySpec, dict(config), "config")
    except _MismatchError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return spec
