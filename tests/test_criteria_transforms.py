"""Tests for gridsite.criteria.transforms against QGIS, GRASS and hand-worked values."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gridsite import config
from gridsite.criteria.transforms import (
    apply_transform,
    categorical,
    exponential,
    fuzzy_large,
    fuzzy_small,
    gaussian,
    linear,
    logarithm,
    logistic_decay,
    logistic_growth,
    ms_large,
    ms_small,
    near,
    piecewise_linear,
    power,
    symmetric_linear,
    transform_problems,
)
from gridsite.errors import ConfigError
from gridsite.spec import TransformSpec

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
QGIS_CSV = REFERENCE / "qgis-fuzzy" / "qgis_fuzzy_outputs.csv"


@pytest.fixture(scope="module")
def qgis() -> dict[str, np.ndarray]:
    # csv keeps the column names as written (genfromtxt would drop the '-' of "s1e-5").
    with QGIS_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {name: np.array([float(row[name]) for row in rows]) for name in rows[0]}


def test_qgis_fixture_is_the_documented_one(qgis: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(qgis["x"], np.arange(0, 1001, 50))


def test_fuzzy_large_matches_qgis(qgis: dict[str, np.ndarray]) -> None:
    result = fuzzy_large(qgis["x"], midpoint=500.0, spread=5.0)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, qgis["large_m500_s5"], rtol=0, atol=1e-6)


def test_fuzzy_small_matches_qgis(qgis: dict[str, np.ndarray]) -> None:
    result = fuzzy_small(qgis["x"], midpoint=500.0, spread=5.0)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, qgis["small_m500_s5"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [("linear_lo100_hi800", 100.0, 800.0), ("linear_lo800_hi100", 800.0, 100.0)],
)
def test_linear_matches_qgis(
    qgis: dict[str, np.ndarray], column: str, low: float, high: float
) -> None:
    result = linear(qgis["x"], low=low, high=high)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, qgis[column], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "column"),
    [
        (TransformSpec(kind="fuzzy_large", midpoint=500.0, spread=5.0), "large_m500_s5"),
        (TransformSpec(kind="fuzzy_small", midpoint=500.0, spread=5.0), "small_m500_s5"),
        (TransformSpec(kind="linear", low=100.0, high=800.0), "linear_lo100_hi800"),
        (TransformSpec(kind="linear", low=800.0, high=100.0), "linear_lo800_hi100"),
    ],
)
def test_apply_transform_matches_qgis(
    qgis: dict[str, np.ndarray], spec: TransformSpec, column: str
) -> None:
    result = apply_transform(qgis["x"], spec)
    np.testing.assert_allclose(result, qgis[column], rtol=0, atol=1e-6)


def test_linear_on_distance_matches_grass_fuzzy_linear() -> None:
    def read(name: str) -> np.ndarray:
        return np.loadtxt(REFERENCE / "grass" / "out" / name, skiprows=6)

    # GRASS fz_lin: 1 within 100 m, 0 beyond 500 m, linear in between, on dist_euc.
    result = linear(read("dist_euc.asc"), low=500.0, high=100.0)
    np.testing.assert_allclose(result, read("fz_lin.asc"), rtol=0, atol=1e-6)


def test_piecewise_hand_worked() -> None:
    # Curve 0 -> 0.2, 10 -> 1.0, 30 -> 0.0; by hand: 5 -> 0.6, 20 -> 0.5, 25 -> 0.25.
    points = [(0.0, 0.2), (10.0, 1.0), (30.0, 0.0)]
    x = np.array([-100.0, 0.0, 5.0, 10.0, 20.0, 25.0, 30.0, 1e9])
    expected = [0.2, 0.2, 0.6, 1.0, 0.5, 0.25, 0.0, 0.0]
    result = piecewise_linear(x, points=points)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, atol=1e-7)
    spec = TransformSpec(kind="piecewise", points=tuple(points))
    np.testing.assert_allclose(apply_transform(x, spec), expected, atol=1e-7)


def test_fuzzy_hand_worked() -> None:
    # midpoint 2, spread 1: large = 1/(1 + 2/x) = x/(x+2); small = 2/(x+2).
    x = np.array([0.0, 1.0, 2.0, 6.0, -3.0])
    np.testing.assert_allclose(
        fuzzy_large(x, midpoint=2.0, spread=1.0), [0.0, 1 / 3, 0.5, 0.75, 0.0], atol=1e-7
    )
    np.testing.assert_allclose(
        fuzzy_small(x, midpoint=2.0, spread=1.0), [1.0, 2 / 3, 0.5, 0.25, 1.0], atol=1e-7
    )


def test_fuzzy_extremes_do_not_warn() -> None:
    # pytest turns warnings into errors, so overflow or division warnings would fail here.
    x = np.array([0.0, 1e-300, 1e-30, 1e300, np.inf, -np.inf])
    large = fuzzy_large(x, midpoint=500.0, spread=50.0)
    small = fuzzy_small(x, midpoint=500.0, spread=50.0)
    np.testing.assert_array_equal(large, [0, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(small, [1, 1, 1, 0, 0, 1])


@pytest.mark.parametrize(
    "spec",
    [
        TransformSpec(kind="linear", low=0.0, high=10.0),
        TransformSpec(kind="piecewise", points=((0.0, 0.0), (10.0, 1.0))),
        TransformSpec(kind="fuzzy_large", midpoint=5.0, spread=2.0),
        TransformSpec(kind="fuzzy_small", midpoint=5.0, spread=2.0),
        TransformSpec(kind="identity"),
    ],
)
def test_nan_in_nan_out_and_range(spec: TransformSpec) -> None:
    x = np.array([[np.nan, -1e6, 0.0], [2.5, 5.0, 1e6]])
    result = apply_transform(x, spec)
    assert result.dtype == np.float32
    assert result.shape == x.shape
    assert np.isnan(result[0, 0])
    finite = result[~np.isnan(x)]
    assert np.isfinite(finite).all()
    assert ((finite >= 0) & (finite <= 1)).all()


def test_identity_clips() -> None:
    result = apply_transform([-0.5, 0.0, 0.25, 1.0, 7.0], TransformSpec(kind="identity"))
    np.testing.assert_array_equal(result, [0.0, 0.0, 0.25, 1.0, 1.0])


def test_linear_equal_bounds_is_an_error_naming_them() -> None:
    with pytest.raises(ConfigError, match="'low' and 'high'"):
        linear([1.0], low=3.0, high=3.0)


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        ([(0.0, 0.0)], "at least 2"),
        ([(0.0, 0.0), (0.0, 1.0)], "strictly increasing"),
        ([(5.0, 0.0), (1.0, 1.0)], "strictly increasing"),
        ([(0.0, 0.0), (1.0, 1.5)], r"within \[0, 1\]"),
        ([(0.0, -0.1), (1.0, 1.0)], r"within \[0, 1\]"),
        ([(0.0, float("nan")), (1.0, 1.0)], r"within \[0, 1\]"),
    ],
)
def test_piecewise_bad_points(points: list[tuple[float, float]], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        piecewise_linear([1.0], points=points)


@pytest.mark.parametrize("function", [fuzzy_large, fuzzy_small])
@pytest.mark.parametrize(
    ("midpoint", "spread", "name"),
    [
        (0.0, 5.0, "midpoint"),
        (-1.0, 5.0, "midpoint"),
        (500.0, 0.0, "spread"),
        (500.0, np.nan, "spread"),
    ],
)
def test_fuzzy_bad_parameters(
    function: Callable[..., np.ndarray], midpoint: float, spread: float, name: str
) -> None:
    with pytest.raises(ConfigError, match=f"'{name}'"):
        function([1.0], midpoint=midpoint, spread=spread)


WHERE = "criteria.substation_distance.transform"


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        (TransformSpec(kind="linear"), ["'low'", "'high'"]),
        (TransformSpec(kind="linear", low=1.0), ["'high'"]),
        (TransformSpec(kind="linear", low=1.0, high=1.0), ["must differ"]),
        (TransformSpec(kind="piecewise"), ["at least 2"]),
        (TransformSpec(kind="fuzzy_large", spread=5.0), ["'midpoint'"]),
        (TransformSpec(kind="fuzzy_small"), ["'midpoint'", "'spread'"]),
        (TransformSpec(kind="identity", low=1.0), ["'low' is not used"]),
        (
            TransformSpec(kind="linear", low=0.0, high=1.0, midpoint=3.0, points=((0, 0), (1, 1))),
            ["'midpoint' is not used", "'points' is not used"],
        ),
        (TransformSpec(kind="cubic"), ["unknown kind 'cubic'"]),  # type: ignore[arg-type]
    ],
)
def test_transform_problems_lists_every_problem(spec: TransformSpec, fragments: list[str]) -> None:
    problems = transform_problems(spec, WHERE)
    assert len(problems) == len(fragments)
    for problem, fragment in zip(problems, fragments, strict=True):
        assert problem.startswith(f"{WHERE}: ")
        assert fragment in problem
    with pytest.raises(ConfigError) as info:
        apply_transform([1.0], spec, where=WHERE)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    "spec",
    [
        TransformSpec(kind="linear", low=40.0, high=0.0),
        TransformSpec(kind="piecewise", points=((0.0, 1.0), (5.0, 0.0))),
        TransformSpec(kind="fuzzy_small", midpoint=1.0, spread=1.0),
        TransformSpec(kind="identity"),
    ],
)
def test_transform_problems_accepts_good_specs(spec: TransformSpec) -> None:
    assert transform_problems(spec, WHERE) == []


# --- The rest of the ArcGIS / QGIS family ------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "kwargs", "column"),
    [
        (gaussian, {"midpoint": 500.0, "spread": 1e-5}, "gaussian_m500_s1e-5"),
        (near, {"midpoint": 500.0, "spread": 1e-4}, "near_m500_s1e-4"),
        (power, {"low": 100.0, "high": 800.0, "exponent": 2.0}, "power_lo100_hi800_e2"),
    ],
)
def test_more_memberships_match_qgis(
    qgis: dict[str, np.ndarray], function: Callable[..., np.ndarray], kwargs: dict, column: str
) -> None:
    result = function(qgis["x"], **kwargs)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, qgis[column], rtol=0, atol=1e-6)
    spec = TransformSpec(kind=function.__name__, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(apply_transform(qgis["x"], spec), qgis[column], rtol=0, atol=1e-6)


def test_exponential_hand_worked() -> None:
    # Y = 2^x on [0, 2]: Y = 1, 2, 4 -> (Y - 1) / 3. Falling, Y = 2^-x: (Y - 1/4) / (3/4).
    x = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    up = exponential(x, base_factor=math.log(2), lower_threshold=0.0, upper_threshold=2.0)
    np.testing.assert_allclose(up, [0.0, 0.0, 1 / 3, 1.0, 1.0], atol=1e-7)
    down = exponential(x, base_factor=-math.log(2), lower_threshold=0.0, upper_threshold=2.0)
    np.testing.assert_allclose(down, [1.0, 1.0, 1 / 3, 0.0, 0.0], atol=1e-7)


def test_exponential_steep_does_not_overflow() -> None:
    # exp(10 * 1000) overflows a float64; the score one unit below the top is e^-10 (1 - e^-9990).
    mu = exponential([0.0, 999.0, 1000.0], base_factor=10.0, lower_threshold=0, upper_threshold=1e3)
    np.testing.assert_allclose(mu, [0.0, math.exp(-10), 1.0], rtol=1e-6, atol=0)


def test_logarithm_hand_worked() -> None:
    # shift -1 on [0, 99]: ln(x + 1) / ln(100), so 9 -> 0.5, 0.0 at 0, 1.0 at 99.
    mu = logarithm([-5.0, 0.0, 9.0, 99.0, 500.0], shift=-1.0, lower_threshold=0, upper_threshold=99)
    np.testing.assert_allclose(mu, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_logistic_hand_worked() -> None:
    # On [0, 10] with q = 1 %: k = ln(99) / 5, so at x = 2.5, exp(k * 2.5) = sqrt(99).
    x = np.array([0.0, 2.5, 5.0, 10.0])
    r = math.sqrt(99.0)
    np.testing.assert_allclose(
        logistic_growth(x, low=0.0, high=10.0), [0.01, 1 / (1 + r), 0.5, 0.99], atol=1e-7
    )
    np.testing.assert_allclose(
        logistic_decay(x, low=0.0, high=10.0), [0.99, r / (1 + r), 0.5, 0.01], atol=1e-7
    )
    growth = logistic_growth([0.0, 10.0], low=0.0, high=10.0, y_intercept_percent=10.0)
    np.testing.assert_allclose(growth, [0.1, 0.9], atol=1e-7)


def test_symmetric_linear_hand_worked() -> None:
    x = np.array([-1.0, 0.0, 2.5, 5.0, 7.5, 10.0, 11.0])
    peak = symmetric_linear(x, low=0.0, high=10.0)
    np.testing.assert_allclose(peak, [0, 0, 0.5, 1, 0.5, 0, 0], atol=1e-7)
    trough = symmetric_linear(x, low=10.0, high=0.0)
    np.testing.assert_allclose(trough, [1, 1, 0.5, 0, 0.5, 1, 1], atol=1e-7)


def test_ms_memberships_with_known_mean_and_std() -> None:
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population standard deviation 2. The NaN is not counted.
    x = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, np.nan])
    # a = b = 1: x > 5 -> 1 - 2 / (x - 5 + 2): 7 -> 0.5, 9 -> 2/3.
    large = ms_large(x)
    np.testing.assert_allclose(large, [0, 0, 0, 0, 0, 0, 0.5, 2 / 3, np.nan], atol=1e-7)
    small = ms_small(x)
    np.testing.assert_allclose(small, [1, 1, 1, 1, 1, 1, 0.5, 1 / 3, np.nan], atol=1e-7)
    # a = 0.5, b = 2: a m = 2.5, b s = 4; 4 -> 1 - 4 / 5.5 = 3/11, 2 <= 2.5 -> 0.
    scaled = ms_large(x, mean_multiplier=0.5, std_multiplier=2.0)
    np.testing.assert_allclose(scaled[:2], [0.0, 3 / 11], atol=1e-7)


def test_ms_on_all_nan_is_all_nan_without_warnings() -> None:
    assert np.isnan(ms_small([np.nan, np.nan])).all()


# --- Categorical reclassification --------------------------------------------------------------


def test_categorical_reclassifies() -> None:
    x = np.array([10.0, 20.0, 30.0, np.nan])
    classes = (("10", 1.0), ("20", 0.25))
    np.testing.assert_array_equal(
        categorical(x, classes=classes, default=0.0), [1.0, 0.25, 0.0, np.nan]
    )
    np.testing.assert_array_equal(categorical(x, classes=classes), [1.0, 0.25, np.nan, np.nan])
    spec = TransformSpec(kind="categorical", classes=classes, default=0.5, nodata="zero")
    np.testing.assert_array_equal(apply_transform(x, spec), [1.0, 0.25, 0.5, 0.0])


@pytest.mark.parametrize(
    ("classes", "default", "fragment"),
    [
        ((), None, "at least one"),
        ((("forest", 1.0),), None, "not a finite number"),
        ((("1", 1.0), ("1.0", 0.0)), None, "are the same value"),
        ((("1", 1.5),), None, r"within \[0, 1\]"),
        ((("1", 1.0),), -0.5, "'default'"),
    ],
)
def test_categorical_bad_classes(
    classes: tuple[tuple[str, float], ...], default: float | None, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        categorical([1.0], classes=classes, default=default)


# --- Nodata policies and thresholds ------------------------------------------------------------


def test_nodata_policies() -> None:
    x = np.array([np.nan, 20.0, 0.0])
    base = {"kind": "linear", "low": 40.0, "high": 0.0}
    exclude = apply_transform(x, TransformSpec(**base))  # type: ignore[arg-type]
    np.testing.assert_array_equal(exclude, [np.nan, 0.5, 1.0])
    zero = apply_transform(x, TransformSpec(**base, nodata="zero"))  # type: ignore[arg-type]
    np.testing.assert_array_equal(zero, [0.0, 0.5, 1.0])
    # fill: the raw value 30 is scored, (30 - 40) / (0 - 40) = 0.25.
    fill = apply_transform(x, TransformSpec(**base, nodata="fill", fill_value=30.0))  # type: ignore[arg-type]
    np.testing.assert_array_equal(fill, [0.25, 0.5, 1.0])


def test_fill_enters_ms_statistics() -> None:
    # 2, 4, 4, 4, 5, 5, 7 and a filled 9: mean 5, std 2 as above, so 9 -> 2/3.
    x = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, np.nan])
    spec = TransformSpec(kind="ms_large", nodata="fill", fill_value=9.0)
    np.testing.assert_allclose(apply_transform(x, spec)[-2:], [0.5, 2 / 3], atol=1e-7)


def test_thresholds_hold_the_score_at_the_threshold() -> None:
    x = np.array([0.0, 4.0, 5.0, 6.0, 10.0, np.nan])
    e1 = math.exp(-1.0)
    mu = gaussian(x, midpoint=5.0, spread=1.0, lower_threshold=4.0, upper_threshold=6.0)
    np.testing.assert_allclose(mu, [e1, e1, 1.0, e1, e1, np.nan], atol=1e-7)
    mu = gaussian(
        x,
        midpoint=5.0,
        spread=1.0,
        lower_threshold=4.0,
        upper_threshold=6.0,
        below_threshold_score=0.0,
        above_threshold_score=float("nan"),
    )
    np.testing.assert_allclose(mu, [0.0, e1, 1.0, e1, np.nan, np.nan], atol=1e-7)
    ramp = linear(x, low=0.0, high=10.0, lower_threshold=2.0, upper_threshold=8.0)
    np.testing.assert_allclose(ramp, [0.2, 0.4, 0.5, 0.6, 0.8, np.nan], atol=1e-7)


# --- Validation of the new kinds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        (TransformSpec(kind="gaussian", midpoint=1.0), ["'spread'"]),
        (TransformSpec(kind="near", spread=-1.0), ["'midpoint'", "'spread'"]),
        (TransformSpec(kind="power", low=0.0, high=1.0), ["'exponent'"]),
        (TransformSpec(kind="ms_large", std_multiplier=0.0), ["'std_multiplier'"]),
        (
            TransformSpec(kind="exponential", base_factor=1.0),
            ["'lower_threshold'", "'upper_threshold'"],
        ),
        (
            TransformSpec(
                kind="exponential", base_factor=0.0, lower_threshold=0, upper_threshold=1
            ),
            ["must not be 0"],
        ),
        (
            TransformSpec(kind="logarithm", shift=5.0, lower_threshold=1.0, upper_threshold=9.0),
            ["'shift' (5.0) must be less than 'lower_threshold'"],
        ),
        (TransformSpec(kind="logistic_growth", low=5.0, high=1.0), ["must be less than 'high'"]),
        (
            TransformSpec(kind="logistic_decay", low=0.0, high=1.0, y_intercept_percent=20.0),
            ["between 50 and 100"],
        ),
        (TransformSpec(kind="symmetric_linear", low=1.0, high=1.0), ["must differ"]),
        (
            TransformSpec(
                kind="linear", low=0.0, high=1.0, lower_threshold=5.0, upper_threshold=5.0
            ),
            ["must be less than 'upper_threshold'"],
        ),
        (
            TransformSpec(kind="linear", low=0.0, high=1.0, below_threshold_score=0.0),
            ["'below_threshold_score' needs 'lower_threshold'"],
        ),
        (
            TransformSpec(
                kind="linear", low=0.0, high=1.0, upper_threshold=1.0, above_threshold_score=2.0
            ),
            ["'above_threshold_score' must be within [0, 1] or nan"],
        ),
        (
            TransformSpec(kind="categorical", classes=(("1", 1.0),), lower_threshold=0.0),
            ["'lower_threshold' is not used"],
        ),
        (
            TransformSpec(kind="gaussian", midpoint=1.0, spread=1.0, exponent=2.0),
            ["'exponent' is not used"],
        ),
        (TransformSpec(kind="identity", nodata="fill"), ["'fill_value' must be a finite number"]),
        (TransformSpec(kind="identity", fill_value=0.0), ["only used with nodata"]),
        (TransformSpec(kind="identity", nodata="drop"), ["'nodata' must be one of"]),  # type: ignore[arg-type]
    ],
)
def test_transform_problems_of_new_kinds(spec: TransformSpec, fragments: list[str]) -> None:
    problems = transform_problems(spec, WHERE)
    assert len(problems) == len(fragments), problems
    for problem, fragment in zip(problems, fragments, strict=True):
        assert problem.startswith(f"{WHERE}: ")
        assert fragment in problem


def test_study_file_keys_reach_the_spec() -> None:
    model = config.TransformModel(
        kind="categorical", classes={"11": 1.0, "21": 0.5}, default=0.0, nodata="zero"
    )
    spec = config._transform_spec(model)
    assert spec.classes == (("11", 1.0), ("21", 0.5))
    assert (spec.default, spec.nodata) == (0.0, "zero")
    assert transform_problems(spec, WHERE) == []
    with pytest.raises(ValidationError):
        config.TransformModel(kind="linear", low=0.0, high=1.0, threshold=3.0)  # type: ignore[call-arg]


# --- Properties --------------------------------------------------------------------------------

RISING = [
    TransformSpec(kind="linear", low=-50.0, high=300.0),
    TransformSpec(kind="power", low=0.0, high=1000.0, exponent=0.5),
    TransformSpec(kind="fuzzy_large", midpoint=500.0, spread=3.0),
    TransformSpec(kind="ms_large", mean_multiplier=0.8, std_multiplier=1.5),
    TransformSpec(kind="exponential", base_factor=0.01, lower_threshold=-100, upper_threshold=900),
    TransformSpec(kind="logarithm", shift=-1.0, lower_threshold=0.0, upper_threshold=5e5),
    TransformSpec(kind="logistic_growth", low=-200.0, high=800.0),
    TransformSpec(kind="identity"),
]
FALLING = [
    TransformSpec(kind="linear", low=40_000.0, high=0.0),
    TransformSpec(kind="fuzzy_small", midpoint=500.0, spread=5.0),
    TransformSpec(kind="ms_small"),
    TransformSpec(kind="exponential", base_factor=-0.02, lower_threshold=0, upper_threshold=5e3),
    TransformSpec(kind="logistic_decay", low=0.0, high=100.0, y_intercept_percent=95.0),
]
OTHER = [
    TransformSpec(kind="gaussian", midpoint=10.0, spread=1e-4),
    TransformSpec(kind="near", midpoint=-10.0, spread=1e-3),
    TransformSpec(kind="symmetric_linear", low=100.0, high=-100.0),
    TransformSpec(kind="piecewise", points=((0.0, 0.2), (10.0, 1.0), (30.0, 0.0))),
    TransformSpec(kind="categorical", classes=(("1", 0.3), ("2", 1.0)), default=0.0),
]

_values = st.lists(
    st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.sampled_from([0.0, 1.0, 2.0])),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("spec", RISING + FALLING + OTHER, ids=lambda s: s.kind)
@given(values=_values)
@settings(max_examples=60, deadline=None)
def test_scores_in_unit_interval_and_nan_only_where_input_nan(
    spec: TransformSpec, values: list[float]
) -> None:
    x = np.array(values)
    result = apply_transform(x, spec)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(result), np.isnan(x))
    finite = result[~np.isnan(x)]
    assert ((finite >= 0) & (finite <= 1)).all()
    zero = apply_transform(x, replace(spec, nodata="zero"))
    assert not np.isnan(zero).any()


@pytest.mark.parametrize(
    ("spec", "sign"),
    [(s, 1) for s in RISING] + [(s, -1) for s in FALLING],
    ids=lambda p: getattr(p, "kind", str(p)),
)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=40))
@settings(max_examples=60, deadline=None)
def test_monotone_shapes(spec: TransformSpec, sign: int, values: list[float]) -> None:
    result = apply_transform(np.sort(np.array(values)), spec).astype(np.float64)
    assert (sign * np.diff(result) >= 0).all(), result


@pytest.mark.parametrize(
    "spec",
    [
        TransformSpec(kind="linear", low=40.0, high=0.0, nodata="zero"),
        TransformSpec(kind="fuzzy_small", midpoint=5.0, spread=2.0),
        TransformSpec(kind="piecewise", points=((0.0, 1.0), (20.0, 0.5), (60.0, 0.0))),
        TransformSpec(kind="gaussian", midpoint=30.0, spread=0.01, nodata="fill", fill_value=1.0),
        TransformSpec(kind="logistic_decay", low=5.0, high=50.0),
        TransformSpec(
            kind="linear", low=0.0, high=50.0, lower_threshold=5.0, below_threshold_score=0.2
        ),
    ],
    ids=lambda s: s.kind,
)
def test_blocked_transform_equals_one_pass(spec: TransformSpec) -> None:
    """A raster larger than a block is scored in blocks on threads: the same bits as one pass."""
    from gridsite.criteria.blocks import BLOCK_CELLS
    from gridsite.criteria.transforms import _score

    rng = np.random.default_rng(3)
    x = rng.uniform(-5.0, 80.0, (3, BLOCK_CELLS + 1001)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    np.testing.assert_array_equal(apply_transform(x, spec), _score(x, spec), strict=True)
