"""Tests for gridsite.criteria.distance against GDAL, GRASS and hand-worked cases."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gridsite.criteria.distance import distance_to_mask, north_of, within_distance
from gridsite.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"
RESOLUTION_M = 100.0


@pytest.fixture(scope="module")
def sources_mask() -> np.ndarray:
    # The same input GDAL and GRASS were run on: value 1 cells are the sources.
    with rasterio.open(REFERENCE / "grass" / "sources_0is_value.tif") as src:
        assert src.res == (RESOLUTION_M, RESOLUTION_M)
        return src.read(1) == 1


def _brute_force_distance_m(mask: np.ndarray, resolution_m: float) -> np.ndarray:
    rows, cols = np.indices(mask.shape)
    sr, sc = np.nonzero(mask)
    d2 = (rows[..., None] - sr) ** 2 + (cols[..., None] - sc) ** 2
    return np.sqrt(d2.min(axis=-1)) * resolution_m


def test_sources_fixture_is_the_documented_one(sources_mask: np.ndarray) -> None:
    assert sources_mask.shape == (8, 10)
    assert list(zip(*np.nonzero(sources_mask), strict=True)) == [(1, 1), (6, 8)]


def test_distance_matches_gdal_proximity(sources_mask: np.ndarray) -> None:
    expected = np.loadtxt(REFERENCE / "gdal" / "prox_geo.asc", skiprows=5)
    result = distance_to_mask(sources_mask, resolution_m=RESOLUTION_M)
    assert result.dtype == np.float32
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-3)


def test_distance_matches_grass_r_grow_distance(sources_mask: np.ndarray) -> None:
    expected = np.loadtxt(REFERENCE / "grass" / "out" / "dist_euc.asc", skiprows=6)
    result = distance_to_mask(sources_mask, resolution_m=RESOLUTION_M)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("resolution_m", [1.0, 30.0, 250.0])
def test_distance_matches_brute_force(seed: int, resolution_m: float) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((9, 13)) < 0.08
    mask[rng.integers(9), rng.integers(13)] = True
    expected = _brute_force_distance_m(mask, resolution_m)
    result = distance_to_mask(mask, resolution_m=resolution_m)
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    assert (result[mask] == 0).all()


def test_distance_of_empty_mask_is_infinite() -> None:
    result = distance_to_mask(np.zeros((3, 4), dtype=bool), resolution_m=100.0)
    assert result.shape == (3, 4)
    assert np.isposinf(result).all()


@pytest.mark.parametrize("resolution_m", [0.0, -100.0, float("nan"), float("inf")])
def test_distance_rejects_bad_resolution(resolution_m: float) -> None:
    with pytest.raises(ConfigError, match="resolution_m"):
        distance_to_mask(np.ones((2, 2), dtype=bool), resolution_m=resolution_m)


def test_within_distance_hand_worked() -> None:
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 2] = True
    # 150 m at 100 m cells: rook neighbours (100 m) and diagonals (141.4 m) are in, 200 m is out.
    expected = np.array(
        [
            [0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0],
            [0, 1, 1, 1, 0],
            [0, 1, 1, 1, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=bool,
    )
    result = within_distance(mask, distance_m=150.0, resolution_m=100.0)
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result, expected)


def test_within_distance_includes_cells_exactly_at_the_distance() -> None:
    mask = np.zeros((1, 6), dtype=bool)
    mask[0, 0] = True
    result = within_distance(mask, distance_m=300.0, resolution_m=100.0)
    np.testing.assert_array_equal(result, [[True, True, True, True, False, False]])
    # sqrt(3^2 + 4^2) = 5 cells: the 3-4-5 diagonal must be exactly on the edge, hence inside.
    mask = np.zeros((5, 5), dtype=bool)
    mask[0, 0] = True
    result = within_distance(mask, distance_m=50.0, resolution_m=10.0)
    assert result[3, 4] and result[4, 3]
    assert not result[4, 4]


def test_within_distance_zero_returns_the_mask() -> None:
    mask = np.array([[True, False], [False, False]])
    result = within_distance(mask, distance_m=0.0, resolution_m=100.0)
    np.testing.assert_array_equal(result, mask)
    assert result is not mask


def test_within_distance_of_empty_mask_is_empty() -> None:
    result = within_distance(np.zeros((3, 3), dtype=bool), distance_m=1e6, resolution_m=100.0)
    assert not result.any()


@pytest.mark.parametrize("distance_m", [-1.0, float("nan"), float("inf")])
def test_within_distance_rejects_bad_distance(distance_m: float) -> None:
    with pytest.raises(ConfigError, match="distance_m"):
        within_distance(np.ones((2, 2), dtype=bool), distance_m=distance_m, resolution_m=100.0)


def test_within_distance_matches_brute_force_buffers() -> None:
    rng = np.random.default_rng(7)
    mask = rng.random((12, 11)) < 0.05
    mask[0, 0] = True
    brute = _brute_force_distance_m(mask, 25.0)
    # Include distances that fall exactly on cell centres (25 sqrt 2, 25 sqrt 20) and between them.
    for distance_m in (10.0, 25.0, math.hypot(25, 25), 40.0, math.hypot(50, 100), 400.0):
        expected = brute <= distance_m * (1 + 1e-12)
        result = within_distance(mask, distance_m=distance_m, resolution_m=25.0)
        np.testing.assert_array_equal(result, expected, err_msg=f"distance_m={distance_m}")


def test_north_of_hand_worked() -> None:
    # A line that dips south and doubles back in column 2; column 4 is not crossed.
    line = np.array(
        [
            [0, 0, 0, 0, 0],
            [1, 0, 1, 0, 0],
            [0, 1, 0, 1, 0],
            [0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=bool,
    )
    expected = np.array(
        [
            [1, 1, 1, 1, 0],
            [1, 1, 1, 1, 0],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=bool,
    )
    result = north_of(line)
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result, expected)


def test_north_of_edges() -> None:
    empty = np.zeros((3, 2), dtype=bool)
    assert not north_of(empty).any()
    bottom = np.zeros((3, 2), dtype=bool)
    bottom[2, :] = True
    assert north_of(bottom).all()
    top = np.zeros((3, 2), dtype=bool)
    top[0, 1] = True
    np.testing.assert_array_equal(north_of(top), [[False, True], [False, False], [False, False]])


def test_north_of_matches_a_loop_over_cells() -> None:
    rng = np.random.default_rng(3)
    line = rng.random((7, 9)) < 0.15
    expected = np.zeros_like(line)
    for r, c in itertools.product(range(7), range(9)):
        expected[r, c] = bool(line[r:, c].any())
    np.testing.assert_array_equal(north_of(line), expected)


def test_north_of_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match="2-D"):
        north_of(np.zeros(4, dtype=bool))
