"""Value functions that turn a criterion's raw value into a score in [0, 1].

Inputs are in the criterion's own unit (metres, MW, degrees...); outputs are float32 scores where
1 is best. NaN in (outside the study area, no data) gives NaN out. The fuzzy memberships follow
the ArcGIS / QGIS "fuzzify" family, with ``f1 = spread`` and ``f2 = midpoint``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridsite.errors import ConfigError
from gridsite.spec import TransformSpec

__all__ = [
    "apply_transform",
    "fuzzy_large",
    "fuzzy_small",
    "linear",
    "piecewise_linear",
    "transform_problems",
]

_KINDS = ("linear", "piecewise", "fuzzy_small", "fuzzy_large", "identity")
# Parameters each kind reads; any other parameter that is set is reported, because a value the
# transform silently ignores is almost always a mistake in the study file.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "linear": ("low", "high"),
    "piecewise": ("points",),
    "fuzzy_small": ("midpoint", "spread"),
    "fuzzy_large": ("midpoint", "spread"),
    "identity": (),
}


def _as_float(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _is_finite_number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _linear_problems(low: float | None, high: float | None) -> list[str]:
    problems = [
        f"'{name}' must be a finite number, got {value!r}"
        for name, value in (("low", low), ("high", high))
        if not _is_finite_number(value)
    ]
    if not problems and low == high:
        problems.append(
            f"'low' and 'high' must differ (both are {low!r}); use 'low > high' for a "
            "decreasing ramp"
        )
    return problems


def _piecewise_problems(points: Sequence[tuple[float, float]]) -> list[str]:
    if len(points) < 2:
        return [f"'points' needs at least 2 (x, score) pairs, got {len(points)}"]
    problems: list[str] = []
    for i, point in enumerate(points):
        if len(point) != 2:
            problems.append(f"'points[{i}]' must be an (x, score) pair, got {point!r}")
            continue
        x, score = point
        if not math.isfinite(x):
            problems.append(f"'points[{i}]' x must be finite, got {x!r}")
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            problems.append(f"'points[{i}]' score must be within [0, 1], got {score!r}")
    xs = [point[0] for point in points if len(point) == 2]
    if len(xs) == len(points) and not all(a < b for a, b in itertools.pairwise(xs)):
        problems.append(f"'points' x values must be strictly increasing, got {xs!r}")
    return problems


def _fuzzy_problems(midpoint: float | None, spread: float | None) -> list[str]:
    return [
        f"'{name}' must be a positive, finite number, got {value!r}"
        for name, value in (("midpoint", midpoint), ("spread", spread))
        if not (_is_finite_number(value) and value is not None and value > 0)
    ]


def _raise(problems: list[str], what: str) -> None:
    if problems:
        raise ConfigError(f"{what}: " + "; ".join(problems))


def linear(x: ArrayLike, *, low: float, high: float) -> NDArray[np.float32]:
    """Score ``x`` on a straight ramp from 0 at ``low`` to 1 at ``high``, clipped to [0, 1].

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Values (same unit as ``x``) that score 0 and 1; ``low > high`` gives a decreasing ramp,
        e.g. ``low=40_000, high=0`` for "closer to a substation is better" in metres.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``low`` or ``high`` is not finite, or ``low == high``.

    Examples
    --------
    >>> linear([0.0, 250.0, 500.0, 900.0], low=0.0, high=500.0).tolist()
    [0.0, 0.5, 1.0, 1.0]
    >>> linear([0.0, 250.0, 500.0], low=500.0, high=0.0).tolist()
    [1.0, 0.5, 0.0]
    """
    _raise(_linear_problems(low, high), "linear transform")
    values = _as_float(x)
    # Adding 0.0 turns the -0.0 of a decreasing ramp's far end into a plain 0.0.
    return (np.clip((values - low) / (high - low), 0.0, 1.0) + 0.0).astype(np.float32)


def piecewise_linear(x: ArrayLike, *, points: Sequence[tuple[float, float]]) -> NDArray[np.float32]:
    """Score ``x`` on the value curve through ``points``, flat beyond the first and last point.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    points
        ``(x, score)`` pairs with ``x`` strictly increasing and scores in [0, 1].

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If there are fewer than 2 points, ``x`` is not strictly increasing, or a score lies outside
        [0, 1].

    Examples
    --------
    >>> piecewise_linear([-5.0, 5.0, 15.0, 40.0], points=[(0, 0.0), (10, 1.0), (20, 0.5)]).tolist()
    [0.0, 0.5, 0.75, 0.5]
    """
    _raise(_piecewise_problems(points), "piecewise transform")
    values = _as_float(x)
    xp = np.array([p[0] for p in points], dtype=np.float64)
    fp = np.array([p[1] for p in points], dtype=np.float64)
    scores = np.interp(values, xp, fp)
    # np.interp maps NaN to NaN today, but that is not documented, so NaN is restored explicitly.
    return np.where(np.isnan(values), np.nan, scores).astype(np.float32)


def _fuzzy(x: ArrayLike, midpoint: float, spread: float, *, large: bool) -> NDArray[np.float32]:
    values = _as_float(x)
    exponent = -spread if large else spread
    # x/f2 near 0 overflows the power to inf (score 0 or 1, as intended) and x <= 0 gives NaN or a
    # division by zero that np.where replaces below; none of these should surface as warnings.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        scores = 1.0 / (1.0 + (values / midpoint) ** exponent)
    scores = np.where(values <= 0, 0.0 if large else 1.0, scores)
    return np.where(np.isnan(values), np.nan, scores).astype(np.float32)


def fuzzy_large(x: ArrayLike, *, midpoint: float, spread: float) -> NDArray[np.float32]:
    """Score ``x`` with the fuzzy "large" membership: large values score near 1.

    ``mu = 1 / (1 + (x / midpoint) ** -spread)``, and 0 for ``x <= 0``; ``mu = 0.5`` at the
    midpoint. Matches QGIS ``native:fuzzifyrasterlargemembership`` and ArcGIS ``FuzzyLarge``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    midpoint
        Value scoring 0.5 (f2), same unit as ``x``, > 0.
    spread
        Steepness (f1), > 0; larger is steeper.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``midpoint`` or ``spread`` is not a positive, finite number.

    Examples
    --------
    >>> mu = fuzzy_large([0.0, 500.0, 1000.0], midpoint=500.0, spread=5.0)
    >>> mu.astype(float).round(4).tolist()
    [0.0, 0.5, 0.9697]
    """
    _raise(_fuzzy_problems(midpoint, spread), "fuzzy_large transform")
    return _fuzzy(x, midpoint, spread, large=True)


def fuzzy_small(x: ArrayLike, *, midpoint: float, spread: float) -> NDArray[np.float32]:
    """Score ``x`` with the fuzzy "small" membership: small values score near 1.

    ``mu = 1 / (1 + (x / midpoint) ** spread)``, and 1 for ``x <= 0``; ``mu = 0.5`` at the
    midpoint. Matches QGIS ``native:fuzzifyrastersmallmembership`` and ArcGIS ``FuzzySmall``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    midpoint
        Value scoring 0.5 (f2), same unit as ``x``, > 0.
    spread
        Steepness (f1), > 0; larger is steeper.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``midpoint`` or ``spread`` is not a positive, finite number.

    Examples
    --------
    >>> mu = fuzzy_small([0.0, 500.0, 1000.0], midpoint=500.0, spread=5.0)
    >>> mu.astype(float).round(4).tolist()
    [1.0, 0.5, 0.0303]
    """
    _raise(_fuzzy_problems(midpoint, spread), "fuzzy_small transform")
    return _fuzzy(x, midpoint, spread, large=False)


def transform_problems(spec: TransformSpec, where: str) -> list[str]:
    """Return every problem with ``spec``'s parameters, each message starting with ``where``.

    Parameters
    ----------
    spec
        The transform to check.
    where
        Dotted location of the transform in the study file, e.g.
        ``"criteria.substation_distance.transform"``.

    Returns
    -------
    list[str]
        One message per problem (missing or invalid parameters, parameters the kind does not
        use); empty if the spec is usable.

    Examples
    --------
    >>> transform_problems(TransformSpec(kind="linear", low=1.0), "criteria.slope.transform")
    ["criteria.slope.transform: 'high' must be a finite number, got None"]
    """
    kind = spec.kind
    if kind not in _PARAMETERS:
        return [f"{where}: unknown kind {kind!r}; expected one of {', '.join(_KINDS)}"]
    if kind == "linear":
        problems = _linear_problems(spec.low, spec.high)
    elif kind == "piecewise":
        problems = _piecewise_problems(spec.points)
    elif kind in ("fuzzy_small", "fuzzy_large"):
        problems = _fuzzy_problems(spec.midpoint, spec.spread)
    else:
        problems = []
    set_parameters = {
        "low": spec.low is not None,
        "high": spec.high is not None,
        "midpoint": spec.midpoint is not None,
        "spread": spec.spread is not None,
        "points": len(spec.points) > 0,
    }
    problems += [
        f"'{name}' is not used by kind {kind!r}; remove it"
        for name, is_set in set_parameters.items()
        if is_set and name not in _PARAMETERS[kind]
    ]
    return [f"{where}: {problem}" for problem in problems]


def apply_transform(
    x: ArrayLike, spec: TransformSpec, *, where: str = "transform"
) -> NDArray[np.float32]:
    """Score ``x`` with the transform described by ``spec``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    spec
        The transform; ``identity`` clips ``x`` to [0, 1].
    where
        Location of ``spec`` in the study file, used in error messages.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        Listing every problem :func:`transform_problems` finds.

    Examples
    --------
    >>> spec = TransformSpec(kind="linear", low=40.0, high=0.0)
    >>> apply_transform([0.0, 20.0, 40.0], spec).tolist()
    [1.0, 0.5, 0.0]
    """
    problems = transform_problems(spec, where)
    if problems:
        raise ConfigError("; ".join(problems))
    if spec.kind == "linear":
        assert spec.low is not None and spec.high is not None
        return linear(x, low=spec.low, high=spec.high)
    if spec.kind == "piecewise":
        return piecewise_linear(x, points=spec.points)
    if spec.kind in ("fuzzy_small", "fuzzy_large"):
        assert spec.midpoint is not None and spec.spread is not None
        function = fuzzy_large if spec.kind == "fuzzy_large" else fuzzy_small
        return function(x, midpoint=spec.midpoint, spread=spec.spread)
    return np.clip(_as_float(x), 0.0, 1.0).astype(np.float32)
