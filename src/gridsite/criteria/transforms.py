"""Value functions that turn a criterion's raw value into a score in [0, 1].

Inputs are in the criterion's own unit ``u`` (metres, MW, degrees...); outputs are float32 scores
where 1 is best. NaN in (outside the study area, no data) gives NaN out; :func:`apply_transform`
applies a criterion's nodata policy on top.

The continuous kinds are the ArcGIS "Rescale by Function" / QGIS "fuzzify" family, with
``f1 = spread`` and ``f2 = midpoint``:

- ``fuzzy_large``, ``fuzzy_small``, ``gaussian``, ``near``, ``linear``, ``power`` match the QGIS
  3.22 ``native:fuzzifyraster*membership`` outputs (tests/test_criteria_transforms.py).
- ``ms_large`` / ``ms_small`` are ArcGIS's MSLarge / MSSmall (docs/domain.md section 5).
- ``exponential``, ``logarithm``, ``logistic_growth``, ``logistic_decay`` and
  ``symmetric_linear`` follow the ArcGIS Pro documentation of the TfExponential, TfLogarithm,
  TfLogisticGrowth, TfLogisticDecay and TfSymmetricLinear classes and "Formulas for the
  transformation functions" (pro.arcgis.com, Spatial Analyst).

Scores are memberships in [0, 1] used as they are; ArcGIS additionally stretches every function's
range over the thresholds onto a ``[from, to]`` evaluation scale. gridsite does that stretch
only where a function has no natural [0, 1] range (``exponential``, ``logarithm``), with
``from = 0`` and ``to = 1``.

Thresholds (ArcGIS ``lowerThreshold`` / ``upperThreshold``): the function is applied to values
between the thresholds, inclusive. ArcGIS assigns values beyond them a user-set
``valueBelowThreshold`` / ``valueAboveThreshold`` (a score or NoData); gridsite's
``below_threshold_score`` / ``above_threshold_score`` are those values (NaN = no data) and, when
unset, a value beyond a threshold scores what the threshold itself scores. For an increasing
stretched function that is ArcGIS's From scale below and To scale above.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridsite.criteria.blocks import BLOCK_CELLS, run_blocks
from gridsite.errors import ConfigError
from gridsite.spec import TransformSpec

__all__ = [
    "apply_transform",
    "categorical",
    "exponential",
    "fuzzy_large",
    "fuzzy_small",
    "gaussian",
    "linear",
    "logarithm",
    "logistic_decay",
    "logistic_growth",
    "ms_large",
    "ms_small",
    "near",
    "piecewise_linear",
    "power",
    "symmetric_linear",
    "transform_problems",
]

_Floats = NDArray[np.float64]

_KINDS = (
    "linear",
    "piecewise",
    "fuzzy_small",
    "fuzzy_large",
    "identity",
    "gaussian",
    "near",
    "power",
    "ms_small",
    "ms_large",
    "exponential",
    "logarithm",
    "logistic_growth",
    "logistic_decay",
    "symmetric_linear",
    "categorical",
)
_THRESHOLDS = (
    "lower_threshold",
    "upper_threshold",
    "below_threshold_score",
    "above_threshold_score",
)
# Parameters each kind reads; any other parameter that is set is reported, because a value the
# transform silently ignores is almost always a mistake in the study file.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "linear": ("low", "high", *_THRESHOLDS),
    "piecewise": ("points", *_THRESHOLDS),
    "fuzzy_small": ("midpoint", "spread", *_THRESHOLDS),
    "fuzzy_large": ("midpoint", "spread", *_THRESHOLDS),
    "identity": (),
    "gaussian": ("midpoint", "spread", *_THRESHOLDS),
    "near": ("midpoint", "spread", *_THRESHOLDS),
    "power": ("low", "high", "exponent", *_THRESHOLDS),
    "ms_small": ("mean_multiplier", "std_multiplier", *_THRESHOLDS),
    "ms_large": ("mean_multiplier", "std_multiplier", *_THRESHOLDS),
    "exponential": ("base_factor", *_THRESHOLDS),
    "logarithm": ("shift", *_THRESHOLDS),
    "logistic_growth": ("low", "high", "y_intercept_percent", *_THRESHOLDS),
    "logistic_decay": ("low", "high", "y_intercept_percent", *_THRESHOLDS),
    "symmetric_linear": ("low", "high", *_THRESHOLDS),
    "categorical": ("classes", "default"),
}
_NODATA = ("exclude", "zero", "fill")
# ArcGIS defaults for yInterceptPercent (TfLogisticGrowth 1.0, TfLogisticDecay 99.0) and for
# the MSLarge / MSSmall mean and standard-deviation multipliers (1).
_Y_INTERCEPT_DEFAULT = {"logistic_growth": 1.0, "logistic_decay": 99.0}
_MULTIPLIER_DEFAULT = 1.0


def _as_float(x: ArrayLike) -> _Floats:
    return np.asarray(x, dtype=np.float64)


def _is_finite_number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _finite(name: str, value: float | None) -> list[str]:
    return [] if _is_finite_number(value) else [f"'{name}' must be a finite number, got {value!r}"]


def _positive(name: str, value: float | None) -> list[str]:
    if _is_finite_number(value) and value is not None and value > 0:
        return []
    return [f"'{name}' must be a positive, finite number, got {value!r}"]


def _linear_problems(low: float | None, high: float | None) -> list[str]:
    problems = _finite("low", low) + _finite("high", high)
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
    return _positive("midpoint", midpoint) + _positive("spread", spread)


def _score_problem(name: str, value: float | None, *, nan_ok: bool) -> list[str]:
    if value is None or (nan_ok and math.isnan(value)) or 0.0 <= value <= 1.0:
        return []
    allowed = "within [0, 1] or nan (no data)" if nan_ok else "within [0, 1]"
    return [f"'{name}' must be {allowed}, got {value!r}"]


def _class_value(key: str | float) -> float | None:
    try:
        value = float(key)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _categorical_problems(
    classes: Sequence[tuple[str | float, float]], default: float | None
) -> list[str]:
    if not classes:
        return ["'classes' needs at least one {value = score} entry"]
    problems: list[str] = []
    seen: dict[float, str | float] = {}
    for key, score in classes:
        value = _class_value(key)
        if value is None:
            problems.append(
                f"'classes' key {key!r} is not a finite number; raster categories are numeric"
            )
        elif value in seen:
            problems.append(f"'classes' keys {seen[value]!r} and {key!r} are the same value")
        else:
            seen[value] = key
        problems += _score_problem(f"classes[{key!r}]", score, nan_ok=False)
    return problems + _score_problem("default", default, nan_ok=False)


def _threshold_problems(spec: TransformSpec) -> list[str]:
    lower, upper = spec.lower_threshold, spec.upper_threshold
    problems: list[str] = []
    if spec.kind in ("exponential", "logarithm"):
        # Both ends fix the stretch onto [0, 1], so neither may be left to the data.
        problems += _finite("lower_threshold", lower) + _finite("upper_threshold", upper)
    else:
        problems += [
            f"'{name}' must be a finite number, got {value!r}"
            for name, value in (("lower_threshold", lower), ("upper_threshold", upper))
            if value is not None and not math.isfinite(value)
        ]
    if _is_finite_number(lower) and _is_finite_number(upper) and not lower < upper:  # type: ignore[operator]
        problems.append(
            f"'lower_threshold' ({lower!r}) must be less than 'upper_threshold' ({upper!r})"
        )
    for score_name, threshold_name, threshold in (
        ("below_threshold_score", "lower_threshold", lower),
        ("above_threshold_score", "upper_threshold", upper),
    ):
        score = getattr(spec, score_name)
        problems += _score_problem(score_name, score, nan_ok=True)
        if score is not None and threshold is None:
            problems.append(f"'{score_name}' needs '{threshold_name}'")
    return problems


def _kind_problems(spec: TransformSpec) -> list[str]:
    kind = spec.kind
    if kind == "linear":
        return _linear_problems(spec.low, spec.high)
    if kind == "piecewise":
        return _piecewise_problems(spec.points)
    if kind in ("fuzzy_small", "fuzzy_large"):
        return _fuzzy_problems(spec.midpoint, spec.spread)
    if kind in ("gaussian", "near"):
        return _finite("midpoint", spec.midpoint) + _positive("spread", spec.spread)
    if kind == "power":
        return _linear_problems(spec.low, spec.high) + _positive("exponent", spec.exponent)
    if kind in ("ms_small", "ms_large"):
        problems = []
        if spec.mean_multiplier is not None:
            problems += _finite("mean_multiplier", spec.mean_multiplier)
        if spec.std_multiplier is not None:
            problems += _positive("std_multiplier", spec.std_multiplier)
        return problems
    if kind == "exponential":
        problems = _finite("base_factor", spec.base_factor)
        if not problems and spec.base_factor == 0:
            problems.append("'base_factor' must not be 0 (that is a constant); use 'linear'")
        return problems
    if kind == "logarithm":
        problems = _finite("shift", spec.shift)
        lower = spec.lower_threshold
        if not problems and _is_finite_number(lower) and not spec.shift < lower:  # type: ignore[operator]
            problems.append(
                f"'shift' ({spec.shift!r}) must be less than 'lower_threshold' ({lower!r}), "
                "so that the logarithm is defined between the thresholds"
            )
        return problems
    if kind in ("logistic_growth", "logistic_decay"):
        problems = _finite("low", spec.low) + _finite("high", spec.high)
        if not problems and not spec.low < spec.high:  # type: ignore[operator]
            problems.append(f"'low' ({spec.low!r}) must be less than 'high' ({spec.high!r})")
        percent = spec.y_intercept_percent
        lo, hi = (0, 50) if kind == "logistic_growth" else (50, 100)
        if percent is not None and not (math.isfinite(percent) and lo < percent < hi):
            problems.append(
                f"'y_intercept_percent' must lie strictly between {lo} and {hi} for {kind!r}, "
                f"got {percent!r}"
            )
        return problems
    if kind == "symmetric_linear":
        problems = _finite("low", spec.low) + _finite("high", spec.high)
        if not problems and spec.low == spec.high:
            problems.append(f"'low' and 'high' must differ (both are {spec.low!r})")
        return problems
    if kind == "categorical":
        return _categorical_problems(spec.classes, spec.default)
    return []


def _nodata_problems(spec: TransformSpec) -> list[str]:
    if spec.nodata not in _NODATA:
        return [f"'nodata' must be one of {', '.join(_NODATA)}, got {spec.nodata!r}"]
    if spec.nodata == "fill":
        return _finite("fill_value", spec.fill_value)
    if spec.fill_value is not None:
        return [f"'fill_value' is only used with nodata = \"fill\" (nodata is {spec.nodata!r})"]
    return []


def _set_parameters(spec: TransformSpec) -> dict[str, bool]:
    return {
        "low": spec.low is not None,
        "high": spec.high is not None,
        "midpoint": spec.midpoint is not None,
        "spread": spec.spread is not None,
        "points": len(spec.points) > 0,
        "exponent": spec.exponent is not None,
        "mean_multiplier": spec.mean_multiplier is not None,
        "std_multiplier": spec.std_multiplier is not None,
        "base_factor": spec.base_factor is not None,
        "shift": spec.shift is not None,
        "y_intercept_percent": spec.y_intercept_percent is not None,
        "classes": len(spec.classes) > 0,
        "default": spec.default is not None,
        **{name: getattr(spec, name) is not None for name in _THRESHOLDS},
    }


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
        use, a bad nodata policy); empty if the spec is usable.

    Examples
    --------
    >>> transform_problems(TransformSpec(kind="linear", low=1.0), "criteria.slope.transform")
    ["criteria.slope.transform: 'high' must be a finite number, got None"]
    """
    kind = spec.kind
    if kind not in _PARAMETERS:
        return [f"{where}: unknown kind {kind!r}; expected one of {', '.join(_KINDS)}"]
    used = _PARAMETERS[kind]
    problems = _kind_problems(spec)
    if "lower_threshold" in used:
        problems += _threshold_problems(spec)
    problems += [
        f"'{name}' is not used by kind {kind!r}; remove it"
        for name, is_set in _set_parameters(spec).items()
        if is_set and name not in used
    ]
    problems += _nodata_problems(spec)
    return [f"{where}: {problem}" for problem in problems]


def _check(spec: TransformSpec) -> None:
    problems = transform_problems(spec, f"{spec.kind} transform")
    if problems:
        raise ConfigError("; ".join(problems))


def _fuzzy(values: _Floats, midpoint: float, spread: float, *, large: bool) -> _Floats:
    exponent = -spread if large else spread
    # x/f2 near 0 overflows the power to inf (score 0 or 1, as intended) and x <= 0 gives NaN or a
    # division by zero that np.where replaces below; _evaluate silences the warnings.
    scores = 1.0 / (1.0 + (values / midpoint) ** exponent)
    return np.where(values <= 0, 0.0 if large else 1.0, scores)


def _ramp(values: _Floats, low: float, high: float) -> _Floats:
    # Adding 0.0 turns the -0.0 of a decreasing ramp's far end into a plain 0.0.
    return np.clip((values - low) / (high - low), 0.0, 1.0) + 0.0


def _mean_std(values: _Floats) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    # Population standard deviation (ddof=0): the cells are the whole population scored. Taken on
    # values scaled into [-1, 1], so huge values (1e300) do not overflow the sum or the squares.
    scale = float(np.abs(finite).max()) or 1.0
    unit = finite / scale
    return float(unit.mean()) * scale, float(unit.std()) * scale


def _ms(values: _Floats, spec: TransformSpec, mean: float, std: float) -> _Floats:
    a = _MULTIPLIER_DEFAULT if spec.mean_multiplier is None else spec.mean_multiplier
    b = _MULTIPLIER_DEFAULT if spec.std_multiplier is None else spec.std_multiplier
    # The score depends on x, m and s only through their ratios: scale them so that a m and b s
    # stay finite where m and s are huge (an infinite b s over an infinite denominator is NaN).
    scale = max(abs(mean), std)
    if math.isfinite(scale) and scale > 0:
        values, mean, std = values / scale, mean / scale, std / scale
    above = values > a * mean
    # For x > a m the denominator exceeds b s >= 0, so the ratio lies in [0, 1).
    ratio = b * std / (values - a * mean + b * std)
    if spec.kind == "ms_large":
        return np.where(above, 1.0 - ratio, 0.0)
    return np.where(above, ratio, 1.0)


def _exponential(values: _Floats, rate: float, lower: float, upper: float) -> _Floats:
    # (Y(x) - min Y) / (max Y - min Y) for Y = exp(rate x), arranged so that no exponent is
    # positive: a steep curve over a wide range would otherwise overflow.
    if rate > 0:
        tail: _Floats = np.expm1(-rate * (values - lower)) / math.expm1(-rate * (upper - lower))
        return np.exp(rate * (values - upper)) * tail
    head: _Floats = np.expm1(rate * (upper - values)) / math.expm1(rate * (upper - lower))
    return np.exp(rate * (values - lower)) * head


def _logarithm(values: _Floats, shift: float, lower: float, upper: float) -> _Floats:
    # ArcGIS's factor multiplies (x - shift) inside the logarithm and cancels in the stretch.
    return np.log((values - shift) / (lower - shift)) / math.log((upper - shift) / (lower - shift))


def _logistic(values: _Floats, spec: TransformSpec) -> _Floats:
    assert spec.low is not None and spec.high is not None
    percent = spec.y_intercept_percent
    q = (_Y_INTERCEPT_DEFAULT[spec.kind] if percent is None else percent) / 100.0
    centre = (spec.low + spec.high) / 2.0
    # Steepness giving q at low and 1 - q at high; for decay q > 0.5 makes k negative.
    k = 2.0 * math.log((1.0 - q) / q) / (spec.high - spec.low)
    return 1.0 / (1.0 + np.exp(-k * (values - centre)))


def _symmetric_linear(values: _Floats, low: float, high: float) -> _Floats:
    half = abs(high - low) / 2.0
    peak = np.clip(1.0 - np.abs(values - (low + high) / 2.0) / half, 0.0, 1.0)
    return peak if low < high else 1.0 - peak


def _categorical(values: _Floats, spec: TransformSpec) -> _Floats:
    default = math.nan if spec.default is None else spec.default
    scores = np.full(values.shape, default, dtype=np.float64)
    for key, score in spec.classes:
        # Categories are compared exactly: class codes are integers stored as floats.
        scores[values == float(key)] = score
    return scores


def _shape(values: _Floats, spec: TransformSpec, mean: float, std: float) -> _Floats:
    kind = spec.kind
    if kind in ("linear", "power"):
        assert spec.low is not None and spec.high is not None
        ramp = _ramp(values, spec.low, spec.high)
        return ramp if kind == "linear" else ramp ** (spec.exponent or 1.0)
    if kind == "piecewise":
        xp = np.array([p[0] for p in spec.points], dtype=np.float64)
        fp = np.array([p[1] for p in spec.points], dtype=np.float64)
        return np.interp(values, xp, fp)
    if kind in ("fuzzy_small", "fuzzy_large"):
        assert spec.midpoint is not None and spec.spread is not None
        return _fuzzy(values, spec.midpoint, spec.spread, large=kind == "fuzzy_large")
    if kind in ("gaussian", "near"):
        assert spec.midpoint is not None and spec.spread is not None
        squared = (values - spec.midpoint) ** 2
        if kind == "gaussian":
            return np.exp(-spec.spread * squared)
        return 1.0 / (1.0 + spec.spread * squared)
    if kind in ("ms_small", "ms_large"):
        return _ms(values, spec, mean, std)
    lower, upper = spec.lower_threshold, spec.upper_threshold
    if kind == "exponential":
        assert spec.base_factor is not None and lower is not None and upper is not None
        return _exponential(values, spec.base_factor, lower, upper)
    if kind == "logarithm":
        assert spec.shift is not None and lower is not None and upper is not None
        return _logarithm(values, spec.shift, lower, upper)
    if kind in ("logistic_growth", "logistic_decay"):
        return _logistic(values, spec)
    assert kind == "symmetric_linear" and spec.low is not None and spec.high is not None
    return _symmetric_linear(values, spec.low, spec.high)


def _evaluate(values: _Floats, spec: TransformSpec) -> _Floats:
    """Score ``values`` with a checked ``spec``; NaN in gives NaN out."""
    if spec.kind == "categorical":
        scores = _categorical(values, spec)
    elif spec.kind == "identity":
        scores = np.clip(values, 0.0, 1.0)
    else:
        mean, std = _mean_std(values) if spec.kind in ("ms_small", "ms_large") else (0.0, 0.0)
        lower, upper = spec.lower_threshold, spec.upper_threshold
        clipped = np.clip(
            values, -np.inf if lower is None else lower, np.inf if upper is None else upper
        )
        # Overflow to inf and 0/0 at the extremes are resolved by np.where and the clipping in
        # each shape; they are not worth a warning (pytest turns warnings into errors).
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            scores = _shape(clipped, spec, mean, std)
        if spec.below_threshold_score is not None:
            scores = np.where(values < lower, spec.below_threshold_score, scores)  # type: ignore[operator]
        if spec.above_threshold_score is not None:
            scores = np.where(values > upper, spec.above_threshold_score, scores)  # type: ignore[operator]
    return np.where(np.isnan(values), np.nan, scores)


def _run(x: ArrayLike, spec: TransformSpec) -> NDArray[np.float32]:
    _check(spec)
    return _evaluate(_as_float(x), spec).astype(np.float32)


_THRESHOLD_DOC = """lower_threshold, upper_threshold
        Input range (unit of ``x``) over which the function is applied; values beyond score
        what the threshold scores unless the matching score below is set.
    below_threshold_score, above_threshold_score
        Score in [0, 1], or NaN for no data, of values below ``lower_threshold`` / above
        ``upper_threshold`` (ArcGIS ``valueBelowThreshold`` / ``valueAboveThreshold``)."""


def linear(
    x: ArrayLike,
    *,
    low: float,
    high: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on a straight ramp from 0 at ``low`` to 1 at ``high``, clipped to [0, 1].

    Matches QGIS ``native:fuzzifyrasterlinearmembership`` and ArcGIS ``TfLinear``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Values (same unit as ``x``) that score 0 and 1; ``low > high`` gives a decreasing ramp,
        e.g. ``low=40_000, high=0`` for "closer to a substation is better" in metres.
    {thresholds}

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
    spec = TransformSpec(
        kind="linear",
        low=low,
        high=high,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def piecewise_linear(
    x: ArrayLike,
    *,
    points: Sequence[tuple[float, float]],
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on the value curve through ``points``, flat beyond the first and last point.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    points
        ``(x, score)`` pairs with ``x`` strictly increasing and scores in [0, 1].
    {thresholds}

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
    spec = TransformSpec(
        kind="piecewise",
        points=tuple(points),
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def fuzzy_large(
    x: ArrayLike,
    *,
    midpoint: float,
    spread: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
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
    {thresholds}

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
    spec = TransformSpec(
        kind="fuzzy_large",
        midpoint=midpoint,
        spread=spread,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def fuzzy_small(
    x: ArrayLike,
    *,
    midpoint: float,
    spread: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
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
    {thresholds}

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
    spec = TransformSpec(
        kind="fuzzy_small",
        midpoint=midpoint,
        spread=spread,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def gaussian(
    x: ArrayLike,
    *,
    midpoint: float,
    spread: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` with the Gaussian membership: 1 at ``midpoint``, falling off either side.

    ``mu = exp(-spread * (x - midpoint) ** 2)``. Matches QGIS
    ``native:fuzzifyrastergaussianmembership`` and ArcGIS ``TfGaussian``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit ``u``.
    midpoint
        The ideal value (f2), unit ``u``.
    spread
        Steepness (f1) in 1/u^2, > 0; larger is narrower.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``midpoint`` is not finite or ``spread`` is not a positive, finite number.

    Examples
    --------
    >>> gaussian([0.0, 1.0, 2.0], midpoint=1.0, spread=1.0).astype(float).round(4).tolist()
    [0.3679, 1.0, 0.3679]
    """
    spec = TransformSpec(
        kind="gaussian",
        midpoint=midpoint,
        spread=spread,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def near(
    x: ArrayLike,
    *,
    midpoint: float,
    spread: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` with the "near" membership: 1 at ``midpoint``, with heavier tails than Gaussian.

    ``mu = 1 / (1 + spread * (x - midpoint) ** 2)``. Matches QGIS
    ``native:fuzzifyrasternearmembership`` and ArcGIS ``TfNear``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit ``u``.
    midpoint
        The ideal value (f2), unit ``u``.
    spread
        Steepness (f1) in 1/u^2, > 0; larger is narrower.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``midpoint`` is not finite or ``spread`` is not a positive, finite number.

    Examples
    --------
    >>> near([0.0, 1.0, 3.0], midpoint=1.0, spread=1.0).tolist()
    [0.5, 1.0, 0.20000000298023224]
    """
    spec = TransformSpec(
        kind="near",
        midpoint=midpoint,
        spread=spread,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def power(
    x: ArrayLike,
    *,
    low: float,
    high: float,
    exponent: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on the linear ramp from ``low`` to ``high`` raised to ``exponent``.

    ``mu = clip((x - low) / (high - low), 0, 1) ** exponent``. Matches QGIS
    ``native:fuzzifyrasterpowermembership``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Values (same unit as ``x``) scoring 0 and 1; ``low > high`` ramps down.
    exponent
        Unitless, > 0; above 1 the score rises slowly first, below 1 quickly.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``low``/``high`` are not finite and distinct or ``exponent`` is not positive.

    Examples
    --------
    >>> power([0.0, 5.0, 10.0], low=0.0, high=10.0, exponent=2.0).tolist()
    [0.0, 0.25, 1.0]
    """
    spec = TransformSpec(
        kind="power",
        low=low,
        high=high,
        exponent=exponent,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def ms_large(
    x: ArrayLike,
    *,
    mean_multiplier: float | None = None,
    std_multiplier: float | None = None,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` with ArcGIS's MSLarge membership, built on the mean and spread of ``x``.

    ``mu = 1 - b s / (x - a m + b s)`` for ``x > a m``, else 0, where ``m`` and ``s`` are the mean
    and population standard deviation of the finite values of ``x`` (all of them, also those
    beyond the thresholds), ``a = mean_multiplier`` and ``b = std_multiplier`` (ArcGIS
    ``TfMSLarge``; formula as in docs/domain.md section 5).

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    mean_multiplier
        ``a``, unitless; ArcGIS's default 1 when None.
    std_multiplier
        ``b``, unitless, > 0; ArcGIS's default 1 when None.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1), NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If a multiplier is not finite or ``std_multiplier <= 0``.

    Examples
    --------
    >>> ms_large([1.0, 3.0, 5.0, 7.0]).astype(float).round(4).tolist()
    [0.0, 0.0, 0.309, 0.5729]
    """
    spec = TransformSpec(
        kind="ms_large",
        mean_multiplier=mean_multiplier,
        std_multiplier=std_multiplier,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def ms_small(
    x: ArrayLike,
    *,
    mean_multiplier: float | None = None,
    std_multiplier: float | None = None,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` with ArcGIS's MSSmall membership, built on the mean and spread of ``x``.

    ``mu = b s / (x - a m + b s)`` for ``x > a m``, else 1; ``m``, ``s``, ``a``, ``b`` as in
    :func:`ms_large` (ArcGIS ``TfMSSmall``).

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    mean_multiplier
        ``a``, unitless; ArcGIS's default 1 when None.
    std_multiplier
        ``b``, unitless, > 0; ArcGIS's default 1 when None.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in (0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If a multiplier is not finite or ``std_multiplier <= 0``.

    Examples
    --------
    >>> ms_small([1.0, 3.0, 5.0, 7.0]).astype(float).round(4).tolist()
    [1.0, 1.0, 0.691, 0.4271]
    """
    spec = TransformSpec(
        kind="ms_small",
        mean_multiplier=mean_multiplier,
        std_multiplier=std_multiplier,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def exponential(
    x: ArrayLike,
    *,
    base_factor: float,
    lower_threshold: float,
    upper_threshold: float,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on ArcGIS's exponential curve, stretched to [0, 1] between the thresholds.

    ArcGIS ``TfExponential`` computes ``Y = exp((x - shift) * base_factor)`` and stretches
    ``Y`` linearly onto the evaluation scale, ``min Y -> from``, ``max Y -> to`` ("Formulas
    for the transformation functions", ArcGIS Pro). With ``from = 0``, ``to = 1`` and the
    thresholds as the range, ``mu = (Y(x) - min Y) / (max Y - min Y)``; ``shift`` cancels, so
    it is not a parameter. ``base_factor > 0`` rises (slowly, then steeply);
    ``base_factor < 0`` falls (steeply, then slowly).

    Parameters
    ----------
    x
        Raw values, in the criterion's unit ``u``.
    base_factor
        Growth rate in 1/u, non-zero; ``exp(base_factor * x) = b ** x`` for
        ``base_factor = ln(b)``.
    lower_threshold, upper_threshold
        Required: the range (unit ``u``) stretched onto [0, 1].
    below_threshold_score, above_threshold_score
        As for the other transforms; unset, values beyond a threshold score what it scores.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``base_factor`` is 0 or not finite, or the thresholds are missing or not increasing.

    Examples
    --------
    >>> mu = exponential([0.0, 1.0, 2.0], base_factor=math.log(2.0), lower_threshold=0.0,
    ...                  upper_threshold=2.0)
    >>> mu.astype(float).round(4).tolist()
    [0.0, 0.3333, 1.0]
    """
    spec = TransformSpec(
        kind="exponential",
        base_factor=base_factor,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def logarithm(
    x: ArrayLike,
    *,
    shift: float,
    lower_threshold: float,
    upper_threshold: float,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on ArcGIS's logarithm curve, stretched to [0, 1] between the thresholds.

    ArcGIS ``TfLogarithm`` computes ``Y = ln((x - shift) * factor)`` and stretches it onto the
    evaluation scale like :func:`exponential`; the factor cancels in that stretch, so
    ``mu = ln((x - shift) / (lower - shift)) / ln((upper - shift) / (lower - shift))``. It
    rises steeply just above ``shift`` and flattens out.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit ``u``.
    shift
        Value (unit ``u``) subtracted from ``x``; must be below ``lower_threshold``. The
        closer it is, the steeper the start.
    lower_threshold, upper_threshold
        Required: the range (unit ``u``) stretched onto [0, 1].
    below_threshold_score, above_threshold_score
        As for the other transforms; unset, values beyond a threshold score what it scores.

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``shift`` is not finite or not below ``lower_threshold``, or the thresholds are
        missing or not increasing.

    Examples
    --------
    >>> mu = logarithm([1.0, 10.0, 100.0], shift=0.0, lower_threshold=1.0, upper_threshold=100.0)
    >>> mu.tolist()
    [0.0, 0.5, 1.0]
    """
    spec = TransformSpec(
        kind="logarithm",
        shift=shift,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def _logistic_public(
    kind: str,
    x: ArrayLike,
    low: float,
    high: float,
    y_intercept_percent: float | None,
    thresholds: tuple[float | None, float | None, float | None, float | None],
) -> NDArray[np.float32]:
    spec = TransformSpec(
        kind="logistic_growth" if kind == "logistic_growth" else "logistic_decay",
        low=low,
        high=high,
        y_intercept_percent=y_intercept_percent,
        lower_threshold=thresholds[0],
        upper_threshold=thresholds[1],
        below_threshold_score=thresholds[2],
        above_threshold_score=thresholds[3],
    )
    return _run(x, spec)


def logistic_growth(
    x: ArrayLike,
    *,
    low: float,
    high: float,
    y_intercept_percent: float | None = None,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on an S-curve rising from ``low`` to ``high`` (ArcGIS ``TfLogisticGrowth``).

    ArcGIS defines the curve by its start (``minimum``), end (``maximum``) and
    ``yInterceptPercent`` (0-50, default 1), the curve's value on its 0-100 scale at the
    start. gridsite's closed form is the logistic through those points, symmetric about
    ``c = (low + high) / 2``: ``mu = 1 / (1 + exp(-k (x - c)))`` with
    ``k = 2 ln((1 - q) / q) / (high - low)``, ``q = y_intercept_percent / 100``, so
    ``mu(low) = q``, ``mu(c) = 0.5`` and ``mu(high) = 1 - q``. The curve is used on [0, 1] as
    it is, without ArcGIS's stretch of its range onto the evaluation scale.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Start and end of the rise (unit of ``x``), ``low < high``.
    y_intercept_percent
        Percent, strictly between 0 and 50; 1 when None (ArcGIS's default).
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in (0, 1), NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``low``/``high`` are not finite and increasing, or the percent is out of range.

    Examples
    --------
    >>> mu = logistic_growth([0.0, 5.0, 10.0], low=0.0, high=10.0)
    >>> mu.astype(float).round(4).tolist()
    [0.01, 0.5, 0.99]
    """
    thresholds = (lower_threshold, upper_threshold, below_threshold_score, above_threshold_score)
    return _logistic_public("logistic_growth", x, low, high, y_intercept_percent, thresholds)


def logistic_decay(
    x: ArrayLike,
    *,
    low: float,
    high: float,
    y_intercept_percent: float | None = None,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on an S-curve falling from ``low`` to ``high`` (ArcGIS ``TfLogisticDecay``).

    As :func:`logistic_growth` mirrored: ``y_intercept_percent`` lies strictly between 50 and
    100 (ArcGIS's default 99) and is the value at ``low``;
    ``mu = 1 / (1 + exp(k (x - c)))`` with ``k = 2 ln(q / (1 - q)) / (high - low)``.

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Start and end of the fall (unit of ``x``), ``low < high``.
    y_intercept_percent
        Percent, strictly between 50 and 100; 99 when None.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in (0, 1), NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``low``/``high`` are not finite and increasing, or the percent is out of range.

    Examples
    --------
    >>> mu = logistic_decay([0.0, 5.0, 10.0], low=0.0, high=10.0)
    >>> mu.astype(float).round(4).tolist()
    [0.99, 0.5, 0.01]
    """
    thresholds = (lower_threshold, upper_threshold, below_threshold_score, above_threshold_score)
    return _logistic_public("logistic_decay", x, low, high, y_intercept_percent, thresholds)


def symmetric_linear(
    x: ArrayLike,
    *,
    low: float,
    high: float,
    lower_threshold: float | None = None,
    upper_threshold: float | None = None,
    below_threshold_score: float | None = None,
    above_threshold_score: float | None = None,
) -> NDArray[np.float32]:
    """Score ``x`` on a tent: 0 at ``low`` and ``high``, 1 half-way (ArcGIS ``TfSymmetricLinear``).

    ArcGIS applies a linear function between ``minimum`` and ``maximum``, mirrored about their
    midpoint, which scores highest; ``minimum > maximum`` flips the slope. Here
    ``mu = clip(1 - |x - c| / h, 0, 1)`` with ``c = (low + high) / 2``, ``h = |high - low| / 2``,
    and ``1 - mu`` when ``low > high`` (a trough: 0 at ``c``, 1 at and beyond the ends).

    Parameters
    ----------
    x
        Raw values, in the criterion's unit.
    low, high
        Ends of the ramp (unit of ``x``), distinct.
    {thresholds}

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN.

    Raises
    ------
    ConfigError
        If ``low``/``high`` are not finite and distinct.

    Examples
    --------
    >>> symmetric_linear([0.0, 2.5, 5.0, 10.0, 12.0], low=0.0, high=10.0).tolist()
    [0.0, 0.5, 1.0, 0.0, 0.0]
    """
    spec = TransformSpec(
        kind="symmetric_linear",
        low=low,
        high=high,
        lower_threshold=lower_threshold,
        upper_threshold=upper_threshold,
        below_threshold_score=below_threshold_score,
        above_threshold_score=above_threshold_score,
    )
    return _run(x, spec)


def categorical(
    x: ArrayLike,
    *,
    classes: Sequence[tuple[str | float, float]],
    default: float | None = None,
) -> NDArray[np.float32]:
    """Reclassify category codes to scores (ArcGIS Reclassify; categorical criteria).

    Parameters
    ----------
    x
        Raw category codes (e.g. land-cover classes), compared exactly.
    classes
        ``(code, score)`` pairs; codes may be given as strings (TOML keys) holding numbers.
    default
        Score in [0, 1] of codes not listed; None makes them NaN (no data).

    Returns
    -------
    NDArray[np.float32]
        Scores in [0, 1], NaN where ``x`` is NaN (or unlisted without a default).

    Raises
    ------
    ConfigError
        If ``classes`` is empty, a code is not a number or repeats, or a score is outside
        [0, 1].

    Examples
    --------
    >>> categorical([10.0, 20.0, 30.0], classes=[("10", 1.0), (20, 0.25)], default=0.0).tolist()
    [1.0, 0.25, 0.0]
    """
    return _run(x, TransformSpec(kind="categorical", classes=tuple(classes), default=default))


for _function in (
    linear,
    piecewise_linear,
    fuzzy_large,
    fuzzy_small,
    gaussian,
    near,
    power,
    ms_large,
    ms_small,
    logistic_growth,
    logistic_decay,
    symmetric_linear,
):
    if _function.__doc__:
        _function.__doc__ = _function.__doc__.replace("{thresholds}", _THRESHOLD_DOC)


def apply_transform(
    x: ArrayLike, spec: TransformSpec, *, where: str = "transform"
) -> NDArray[np.float32]:
    """Score ``x`` with the transform described by ``spec``, applying its nodata policy.

    ``spec.nodata``: ``"exclude"`` (default) leaves NaN raw values NaN, so the overlay makes the
    cell no data; ``"zero"`` scores them 0; ``"fill"`` replaces them by ``spec.fill_value``
    (criterion unit) before the transform, so they also enter the MS* mean and deviation.

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
        Scores in [0, 1]; NaN where ``x`` is NaN under ``"exclude"``, where a threshold score is
        NaN, or for unlisted categories without a default.

    Raises
    ------
    ConfigError
        Listing every problem :func:`transform_problems` finds.

    Examples
    --------
    >>> spec = TransformSpec(kind="linear", low=40.0, high=0.0)
    >>> apply_transform([0.0, 20.0, 40.0], spec).tolist()
    [1.0, 0.5, 0.0]
    >>> spec = TransformSpec(kind="linear", low=40.0, high=0.0, nodata="zero")
    >>> apply_transform([float("nan"), 20.0], spec).tolist()
    [0.0, 0.5]
    """
    problems = transform_problems(spec, where)
    if problems:
        raise ConfigError("; ".join(problems))
    arr = np.asarray(x)
    if spec.kind in ("ms_small", "ms_large") or arr.size <= BLOCK_CELLS:
        # MS* scores depend on the mean and deviation of all cells: one pass over the whole.
        return _score(arr, spec)
    # Every other transform is cell by cell: cache-sized blocks on all cores, same numbers.
    out = np.empty(arr.shape, dtype=np.float32)
    flat_in, flat_out = arr.reshape(-1), out.reshape(-1)

    def block(start: int, stop: int) -> None:
        flat_out[start:stop] = _score(flat_in[start:stop], spec)

    run_blocks(block, flat_in.size)
    return out


def _score(x: ArrayLike, spec: TransformSpec) -> NDArray[np.float32]:
    """Apply a checked ``spec`` and its nodata policy to ``x``."""
    values = _as_float(x)
    missing = np.isnan(values)
    if spec.nodata == "fill":
        assert spec.fill_value is not None
        values = np.where(missing, spec.fill_value, values)
    scores = _evaluate(values, spec)
    if spec.nodata == "zero":
        scores = np.where(missing, 0.0, scores)
    return scores.astype(np.float32)
