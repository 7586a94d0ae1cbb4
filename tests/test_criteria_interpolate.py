"""Tests for gridsite.criteria.interpolate against hand-worked and brute-force IDW."""

from __future__ import annotations

import numpy as np
import pytest

from gridsite.criteria.interpolate import idw, idw_to_grid, idw_to_grid_groups, idw_to_grid_many
from gridsite.errors import ConfigError, LayerError
from gridsite.geo import RasterGrid


def _direct_idw(
    points: np.ndarray, values: np.ndarray, queries: np.ndarray, power: float, k: int | None = None
) -> np.ndarray:
    """IDW written out over all pairs, without a KD-tree (queries must not sit on a point)."""
    d = np.hypot(queries[:, None, 0] - points[None, :, 0], queries[:, None, 1] - points[None, :, 1])
    w = 1.0 / d**power
    if k is not None:
        far = np.argsort(d, axis=1)[:, k:]
        np.put_along_axis(w, far, 0.0, axis=1)
    return (w * values).sum(axis=1) / w.sum(axis=1)


def test_exact_at_data_points() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 10_000, size=(30, 2))
    values = rng.normal(15.0, 5.0, size=30)
    result = idw(points, values, points, power=2.0, k=8)
    np.testing.assert_array_equal(result, values)


def test_two_points_hand_worked() -> None:
    points = np.array([[0.0, 0.0], [300.0, 400.0]])  # 500 m apart
    values = np.array([10.0, 30.0])
    # Query at (0, 100): d = 100 and hypot(300, 300) = 424.26; power 2 weights 1/1e4 and 1/1.8e5,
    # so z = (10/1e4 + 30/1.8e5) / (1/1e4 + 1/1.8e5) = (18 * 10 + 30) / 19 = 210/19.
    # Query at (150, 200), the midpoint: equal weights, z = 20.
    # Power 1 at (0, 100): weights 1/100 and 1/424.264, z = (10 * 4.24264 + 30) / 5.24264.
    queries = np.array([[0.0, 100.0], [150.0, 200.0]])
    np.testing.assert_allclose(idw(points, values, queries, power=2.0), [210 / 19, 20.0])
    r = np.sqrt(180_000) / 100
    np.testing.assert_allclose(
        idw(points, values, queries[:1], power=1.0), [(10 * r + 30) / (r + 1)]
    )


@pytest.mark.parametrize("power", [0.0, 1.0, 2.0, 3.5])
@pytest.mark.parametrize("k", [12, 50])
def test_matches_direct_idw_when_k_covers_all_points(power: float, k: int) -> None:
    rng = np.random.default_rng(int(power * 10) + k)
    points = rng.uniform(0, 50_000, size=(12, 2))
    values = rng.uniform(-5, 40, size=12)
    queries = rng.uniform(-10_000, 60_000, size=(200, 2))
    expected = _direct_idw(points, values, queries, power)
    np.testing.assert_allclose(idw(points, values, queries, power=power, k=k), expected, rtol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_matches_direct_idw_over_k_nearest(k: int) -> None:
    rng = np.random.default_rng(k)
    points = rng.uniform(0, 1_000, size=(25, 2))
    values = rng.uniform(0, 1, size=25)
    queries = rng.uniform(0, 1_000, size=(100, 2))
    expected = _direct_idw(points, values, queries, 2.0, k=k)
    np.testing.assert_allclose(idw(points, values, queries, k=k), expected, rtol=1e-12)


def test_nan_values_are_dropped() -> None:
    points = np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 0.0]])
    values = np.array([10.0, 20.0, np.nan])
    # With the NaN point dropped, its location is just a midpoint of the other two.
    result = idw(points, values, np.array([[50.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(result, [15.0, 10.0])


def test_coincident_points_give_their_mean() -> None:
    points = np.array([[0.0, 0.0], [0.0, 0.0], [100.0, 0.0]])
    result = idw(points, np.array([1.0, 3.0, 50.0]), np.array([[0.0, 0.0]]))
    np.testing.assert_allclose(result, [2.0])


def test_non_finite_query_gives_nan() -> None:
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    result = idw(points, np.array([1.0, 2.0]), np.array([[np.nan, 0.0], [0.0, 0.0]]))
    assert np.isnan(result[0])
    assert result[1] == 1.0


def test_all_nan_values_is_a_layer_error() -> None:
    with pytest.raises(LayerError, match="at least one point"):
        idw(np.zeros((3, 2)), np.full(3, np.nan), np.zeros((1, 2)))


@pytest.mark.parametrize(("power", "k"), [(-1.0, 8), (float("nan"), 8), (2.0, 0), (2.0, 1.5)])
def test_bad_power_or_k(power: float, k: int) -> None:
    with pytest.raises(ConfigError):
        idw(np.zeros((2, 2)), np.ones(2), np.zeros((1, 2)), power=power, k=k)


def test_bad_shapes() -> None:
    with pytest.raises(ValueError, match="points_xy"):
        idw(np.zeros((3, 3)), np.ones(3), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="values"):
        idw(np.zeros((3, 2)), np.ones(2), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="query_xy"):
        idw(np.zeros((3, 2)), np.ones(3), np.zeros(2))


def test_idw_to_grid_uses_cell_centres() -> None:
    # 2 rows x 3 cols of 100 m cells from (0, 0) to (300, 200); centres at x 50/150/250, y 150/50.
    grid = RasterGrid.from_bounds((0, 0, 300, 200), resolution_m=100.0, crs="EPSG:32652")
    points = np.array([[50.0, 150.0], [250.0, 50.0]])  # the NW and SE cell centres
    values = np.array([0.0, 10.0])
    result = idw_to_grid(points, values, grid, power=2.0, k=8)
    assert result.dtype == np.float32
    assert result.shape == (2, 3)
    assert result[0, 0] == 0.0
    assert result[1, 2] == 10.0
    # N-middle cell (150, 150): d = 100 to NW, 100 sqrt 2 to SE -> weights 1 and 1/2 -> z = 5 / 1.5.
    np.testing.assert_allclose(result[0, 1], 10 / 3)
    np.testing.assert_allclose(result[1, 1], 20 / 3)
    # NE cell (250, 150): d = 200 to NW, 100 to SE -> weights 1/4 and 1 -> z = 10 / 1.25 = 8.
    np.testing.assert_allclose(result[0, 2], 8.0)
    np.testing.assert_allclose(result[1, 0], 2.0)


@pytest.mark.parametrize(("n_points", "k", "power"), [(5, 8, 2.0), (200, 8, 2.0), (60, 3, 1.0)])
def test_idw_to_grid_tiles_equal_brute_force(n_points: int, k: int, power: float) -> None:
    """Tiles of 64 cells cut the grid; every cell must still use its true k nearest points."""
    rng = np.random.default_rng(n_points)
    grid = RasterGrid.from_bounds((0, 0, 19_000, 15_000), resolution_m=100.0, crs="EPSG:5179")
    # points inside and well outside the grid, off the cell centres
    points = rng.uniform([-5_000, -5_000], [24_000, 20_000], size=(n_points, 2)) + 0.37
    values = rng.normal(size=n_points)
    got = idw_to_grid(points, values, grid, power=power, k=k)
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    queries = np.column_stack([gx.ravel(), gy.ravel()])
    want = _direct_idw(points, values, queries, power, min(k, n_points)).reshape(grid.shape)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_idw_to_grid_mask_leaves_the_rest_nan() -> None:
    grid = RasterGrid.from_bounds((0, 0, 20_000, 10_000), resolution_m=100.0, crs="EPSG:5179")
    rng = np.random.default_rng(3)
    points = rng.uniform([0, 0], [20_000, 10_000], size=(30, 2)) + 0.37
    values = rng.normal(size=30)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[10:90, 5:70] = True
    mask[0, 199] = True
    full = idw_to_grid(points, values, grid)
    masked = idw_to_grid(points, values, grid, mask=mask)
    np.testing.assert_array_equal(masked[mask], full[mask])
    assert np.isnan(masked[~mask]).all()
    with pytest.raises(ValueError, match="mask"):
        idw_to_grid(points, values, grid, mask=mask[:-1])


def test_idw_to_grid_many_equals_each_surface_alone() -> None:
    # Three surfaces at the same points, one with a missing value: that point is left out of
    # all three, and each layer is idw_to_grid of its column over the remaining points, bit
    # for bit (the brute-force test above checks idw_to_grid itself).
    grid = RasterGrid.from_bounds((0, 0, 15_000, 9_000), resolution_m=100.0, crs="EPSG:5179")
    rng = np.random.default_rng(12)
    points = rng.uniform([-2_000, -2_000], [17_000, 11_000], size=(40, 2)) + 0.37
    points[5] = [5_050.0, 4_050.0]  # on a cell centre: the exact branch
    values = rng.normal(size=(40, 3))
    values[7, 1] = np.nan
    mask = np.zeros(grid.shape, dtype=bool)
    mask[3:80, 10:140] = True
    many = idw_to_grid_many(points, values, grid, mask=mask, power=1.5, k=5)
    assert many.shape == (3, *grid.shape) and many.dtype == np.float32
    keep = np.ones(40, dtype=bool)
    keep[7] = False
    for j in range(3):
        alone = idw_to_grid(points[keep], values[keep, j], grid, mask=mask, power=1.5, k=5)
        np.testing.assert_array_equal(many[j], alone)
    with pytest.raises(ValueError, match=r"\(n, m\)"):
        idw_to_grid_many(points, values[:, 0], grid)
    with pytest.raises(ValueError, match="values"):
        idw(points, values, points)


def test_idw_to_grid_groups_equals_each_surface_alone() -> None:
    # a and b share their points and missing values (one pass); c misses another value and d
    # has points of its own: each result is still idw_to_grid of that surface alone.
    grid = RasterGrid.from_bounds((0, 0, 12_000, 8_000), resolution_m=100.0, crs="EPSG:5179")
    rng = np.random.default_rng(21)
    xy = rng.uniform([0, 0], [12_000, 8_000], size=(25, 2)) + 0.37
    a, b, c = rng.normal(size=(3, 25))
    a[3] = b[3] = np.nan
    c[4] = np.nan
    other_xy, d = xy[::2] + 11.0, rng.normal(size=13)
    surfaces = {"a": (xy, a), "b": (xy, b), "c": (xy, c), "d": (other_xy, d)}
    got = idw_to_grid_groups(surfaces, grid, k=4)
    assert list(got) == ["a", "b", "c", "d"]
    for name, (points, values) in surfaces.items():
        np.testing.assert_array_equal(got[name], idw_to_grid(points, values, grid, k=4))
