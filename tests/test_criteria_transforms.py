"""Tests for gridsite.criteria.transforms against QGIS, GRASS and hand-worked values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gridsite.criteria.transforms import (
    apply_transform,
    fuzzy_large,
    fuzzy_small,
    linear,
    piecewise_linear,
    transform_problems,
)
from gridsite.errors import ConfigError
from gridsite.spec import TransformSpec

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
QGIS_CSV = REFERENCE / "qgis-fuzzy" / "qgis_fuzzy_outputs.csv"


@pytest.fixture(scope="module")
def qgis() -> dict[str, np.ndarray]:
    table = np.genfromtxt(QGIS_CSV, delimiter=",", names=True)
    return {name: np.asarray(table[name], dtype=np.float64) for name in table.dtype.names or ()}


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
